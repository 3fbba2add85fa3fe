// bench_cpu_ops: matmul through the Tensor API next to raw Eigen on the same
// sizes (f32, square N x N, 2 N^3 FLOPs), then softmax and rms_norm
// bandwidth (bytes = one read of the input + one write of the output).
// Usage: bench_cpu_ops [--quick]
#include <Eigen/Core>
#include <cstdio>
#include <cstring>

#include "bench/bench_util.h"
#include "autograd/grad_mode.h"
#include "core/rng.h"
#include "ops/ops.h"

using namespace loglin;

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  NoGradGuard no_grad;  // forward cost only: no graph recorded
  std::printf("## matmul, f32, N x N @ N x N (%s)\n\n", quick ? "quick" : "full");
  std::printf("| N | Tensor API ms | GFLOP/s | raw Eigen ms | GFLOP/s | API / Eigen |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|\n");
  std::vector<int64_t> sizes = quick ? std::vector<int64_t>{256, 512} : std::vector<int64_t>{256, 512, 1024, 2048};
  for (int64_t n : sizes) {
    Tensor a = randn({n, n}), b = randn({n, n});
    Tensor c;
    int runs = n >= 2048 ? 5 : 9;
    double api_ms = bench::median_ms([&] { c = matmul(a, b); }, 2, runs);
    using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    RowMat ea = RowMat::Random(n, n), eb = RowMat::Random(n, n), ec(n, n);
    double eigen_ms = bench::median_ms([&] { ec.noalias() = ea * eb; }, 2, runs);
    double flops = 2.0 * n * n * n;
    std::printf("| %lld | %.3f | %.1f | %.3f | %.1f | %.1f%% |\n", static_cast<long long>(n), api_ms,
                flops / api_ms / 1e6, eigen_ms, flops / eigen_ms / 1e6, 100.0 * eigen_ms / api_ms);
  }

  std::printf("\n## softmax / rms_norm over the last dim, f32\n\n");
  std::printf("| op | shape | ms | GB/s |\n|---|---|---:|---:|\n");
  int64_t rows = quick ? 1024 : 4096, cols = 4096;
  Tensor x = randn({rows, cols});
  Tensor w = randn({cols});
  double bytes = 2.0 * rows * cols * sizeof(float);
  double sm = bench::median_ms([&] { softmax(x, -1); });
  std::printf("| softmax | [%lld, %lld] | %.3f | %.1f |\n", static_cast<long long>(rows), static_cast<long long>(cols),
              sm, bytes / sm / 1e6);
  double rn = bench::median_ms([&] { rms_norm(x, w); });
  std::printf("| rms_norm | [%lld, %lld] | %.3f | %.1f |\n", static_cast<long long>(rows),
              static_cast<long long>(cols), rn, bytes / rn / 1e6);
  return 0;
}

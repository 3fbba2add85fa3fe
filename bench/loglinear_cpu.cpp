// bench_loglinear_cpu: log-linear attention on the CPU, naive T x T answer
// key vs the chunked algorithm (the model of the CUDA kernels).
//
// Build: cmake -S . -B build -DLOGLIN_CUDA=OFF && ninja -C build bench_loglinear_cpu
// Run:   build/bench/bench_loglinear_cpu [max_T] [naive_max_T]
//
// One configuration (B = 1, H = 4, G = 1, K = V = 64, chunk 64, f32), T from
// 256 doubling up to max_T (default 8192). Prints a markdown table: median
// milliseconds of the naive forward, the chunked forward, and the chunked
// forward + backward (through autograd, with a random output gradient), the
// naive/chunked ratio, and the chunked times divided by T log2 T, which stay
// roughly flat if the cost grows as T log T. The naive version is skipped
// above naive_max_T (default 4096): it is O(T^2) scalar float64 loops.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "core/rng.h"
#include "ops/log_linear_attention/log_linear_attention.h"
#include "cpu_timing.h"

using namespace loglin;
using loglin::bench::median_ms;

int main(int argc, char** argv) {
  const int64_t max_T = argc > 1 ? std::atoll(argv[1]) : 8192;
  const int64_t naive_max_T = argc > 2 ? std::atoll(argv[2]) : 4096;
  const int64_t B = 1, H = 4, G = 1, K = 64, V = 64, chunk = 64;
  std::printf("log-linear attention, CPU, f32: B=%lld H=%lld G=%lld K=%lld V=%lld chunk=%lld, %d OpenMP threads\n",
              (long long)B, (long long)H, (long long)G, (long long)K, (long long)V, (long long)chunk,
              omp_get_max_threads());
  std::printf("naive is skipped (-) above T = %lld\n\n", (long long)naive_max_T);
  std::printf("| T | naive fwd ms | chunked fwd ms | chunked fwd+bwd ms | naive/chunked fwd | "
              "chunked fwd ns/(T log2 T) | chunked fwd+bwd ns/(T log2 T) |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|\n");
  Generator gen(1);
  for (int64_t T = 256; T <= max_T; T *= 2) {
    int64_t L = 1;
    while ((int64_t{1} << (L - 1)) <= T - 1) ++L;
    Tensor q = randn({B, T, G, K}, DType::f32, gen), k = randn({B, T, G, K}, DType::f32, gen);
    Tensor v = randn({B, T, H, V}, DType::f32, gen);
    Tensor g = rand({B, T, H}, -0.05, 0.0, DType::f32, gen);
    Tensor ls = rand({B, T, H, L}, 0.5, 1.5, DType::f32, gen);
    const Tensor dout = randn({B, T, H, V}, DType::f32, gen);
    const auto opt = LogLinearAttentionOptions().chunk_size(chunk);
    const int runs = T <= 2048 ? 7 : 5;

    double naive = NAN;
    if (T <= naive_max_T)
      naive = median_ms([&] { log_linear_attention_naive(q, k, v, g, ls); }, T <= 1024 ? 3 : 1);
    const double fwd = median_ms([&] { log_linear_attention(q, k, v, g, ls, opt); }, runs);
    for (Tensor* t : {&q, &k, &v, &g, &ls}) t->set_requires_grad(true);
    const double fwd_bwd = median_ms(
        [&] {
          for (Tensor* t : {&q, &k, &v, &g, &ls}) t->zero_grad();
          log_linear_attention(q, k, v, g, ls, opt).backward(dout);
        },
        runs);
    const double tlogt = static_cast<double>(T) * std::log2(static_cast<double>(T));
    if (std::isnan(naive))
      std::printf("| %lld | - | %.2f | %.2f | - | %.2f | %.2f |\n", (long long)T, fwd, fwd_bwd, fwd * 1e6 / tlogt,
                  fwd_bwd * 1e6 / tlogt);
    else
      std::printf("| %lld | %.1f | %.2f | %.2f | %.1f | %.2f | %.2f |\n", (long long)T, naive, fwd, fwd_bwd,
                  naive / fwd, fwd * 1e6 / tlogt, fwd_bwd * 1e6 / tlogt);
    std::fflush(stdout);
  }
  return 0;
}

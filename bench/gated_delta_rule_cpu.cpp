// bench_gated_delta_rule_cpu: the gated delta rule and its log-linear form on
// the CPU: the naive key (loglin's differentiable primitives, one time step
// at a time, autograd for the backward) against the chunked WY code with its
// hand-written backward (ops/gated_delta_rule/cpu/).
//
// Build: cmake -S . -B build -DLOGLIN_CUDA=OFF && ninja -C build bench_gated_delta_rule_cpu
// Run:   build/bench/bench_gated_delta_rule_cpu [max_T] [naive_max_T] [runs]
//
// One configuration (B = 1, H = 4, G = 4, K = V = 64, chunk 64, f32), T from
// 256 doubling up to max_T (default 8192). Median milliseconds of `runs`
// calls (default 3) after one warm-up: forward (no_grad) and forward +
// backward (a random output gradient), naive and chunked, for both forms.
// The chunked time per token should stay flat: ns / T for the plain form
// (a fixed-size state per chunk), ns / (T log2 T) for the log-linear form
// (O(log T) level states per chunk). The naive key is skipped (-) above
// naive_max_T (default 1024): it launches a handful of small ops per token.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/rng.h"
#include "ops/elementwise/binary.h"
#include "ops/elementwise/unary.h"
#include "ops/gated_delta_rule/gated_delta_rule.h"
#include "ops/reduce/reduce.h"
#include "cpu_timing.h"

using namespace loglin;
using loglin::bench::median_ms;

namespace {


struct Inputs {
  Tensor q, k, v, g, beta, ls, dout;
};

Inputs make(int64_t T, int64_t H, int64_t K, int64_t V, Generator& gen) {
  Inputs in;
  auto unit = [](const Tensor& x) { return x / sqrt(sum(x * x, {-1}, true)); };
  in.q = unit(randn({1, T, H, K}, DType::f32, gen)) * (1.0 / std::sqrt(static_cast<double>(K)));
  in.k = unit(randn({1, T, H, K}, DType::f32, gen));
  in.v = randn({1, T, H, V}, DType::f32, gen);
  in.g = rand({1, T, H}, -0.1, -0.001, DType::f32, gen);
  in.beta = rand({1, T, H}, 0.1, 0.9, DType::f32, gen);
  int64_t L = 1;
  while ((int64_t{1} << (L - 1)) <= T - 1) ++L;
  in.ls = rand({1, T, H, L}, 0.5, 1.5, DType::f32, gen);
  in.dout = randn({1, T, H, V}, DType::f32, gen);
  return in;
}

using Op = std::function<Tensor(const Inputs&, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& ls)>;

double fwd_ms(const Op& op, const Inputs& in, int runs) {
  return median_ms(
      [&] {
        NoGradGuard no_grad;
        (void)op(in, in.q, in.k, in.v, in.ls);
      },
      runs);
}

double fwd_bwd_ms(const Op& op, const Inputs& in, int runs) {
  return median_ms(
      [&] {
        const Tensor q = in.q.detach().set_requires_grad(true), k = in.k.detach().set_requires_grad(true);
        const Tensor v = in.v.detach().set_requires_grad(true), ls = in.ls.detach().set_requires_grad(true);
        sum(op(in, q, k, v, ls) * in.dout).backward();
      },
      runs);
}

std::string cell(double ms) {
  if (std::isnan(ms)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t max_T = argc > 1 ? std::atoll(argv[1]) : 8192;
  const int64_t naive_max_T = argc > 2 ? std::atoll(argv[2]) : 1024;
  const int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 3;
  const int64_t H = 4, K = 64, V = 64;
  std::printf("gated delta rule, CPU, f32: B=1 H=%lld G=%lld K=%lld V=%lld chunk=64, %d OpenMP threads, median of %d\n",
              (long long)H, (long long)H, (long long)K, (long long)V, omp_get_max_threads(), runs);
  std::printf("naive = the autograd key (one step per token); chunked = the WY code and its hand-written backward; "
              "naive skipped (-) above T = %lld\n\n",
              (long long)naive_max_T);
  const Op plain_chunked = [](const Inputs& in, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor&) {
    return gated_delta_rule(q, k, v, in.g, in.beta);
  };
  const Op ll_chunked = [](const Inputs& in, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& ls) {
    return log_linear_gated_delta_rule(q, k, v, in.g, in.beta, ls);
  };
  const Op plain_naive = [](const Inputs& in, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor&) {
    return gated_delta_rule_naive(q, k, v, in.g, in.beta, Tensor()).o;
  };
  const Op ll_naive = [](const Inputs& in, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& ls) {
    return gated_delta_rule_naive(q, k, v, in.g, in.beta, ls).o;
  };
  std::printf("| form | T | naive fwd ms | naive fwd+bwd ms | chunked fwd ms | chunked fwd+bwd ms | naive/chunked "
              "fwd+bwd | chunked fwd ns/token | chunked fwd+bwd ns/token | chunked fwd+bwd ns/(T log2 T) |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  Generator gen(1);
  for (const bool log_linear : {false, true}) {
    for (int64_t T = 256; T <= max_T; T *= 2) {
      const Inputs in = make(T, H, K, V, gen);
      const Op& chunked = log_linear ? ll_chunked : plain_chunked;
      const Op& naive = log_linear ? ll_naive : plain_naive;
      const double cf = fwd_ms(chunked, in, runs), cfb = fwd_bwd_ms(chunked, in, runs);
      double nf = NAN, nfb = NAN;
      if (T <= naive_max_T) nf = fwd_ms(naive, in, 1), nfb = fwd_bwd_ms(naive, in, 1);
      const double lg = std::log2(static_cast<double>(T));
      std::printf("| %s | %lld | %s | %s | %.1f | %.1f | %s | %.0f | %.0f | %.0f |\n",
                  log_linear ? "log-linear" : "plain", (long long)T, cell(nf).c_str(), cell(nfb).c_str(), cf, cfb,
                  std::isnan(nfb) ? "-" : cell(nfb / cfb).c_str(), cf * 1e6 / T, cfb * 1e6 / T, cfb * 1e6 / (T * lg));
      std::fflush(stdout);
    }
  }
  return 0;
}

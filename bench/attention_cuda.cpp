// causal_attention on the GPU: forward and forward+backward of the fused op
// (f32 SIMT kernels; bf16 tensor-core forward and backward), against the
// unfused definition (matmul, masked_fill, softmax, matmul) where it fits.
// The elementwise ops have no bf16 CUDA kernels, so the unfused bf16 row
// computes in f32 from the bf16 inputs (the conversions are timed with it).
//
//   bench_attention_cuda
//
// Times with CUDA events on loglin's stream: 3 warm-up runs, the median of 20.
// FLOPs (stated, not measured): causal forward = 2 * B*H*T*T*D (QK^T and PV,
// 2 FLOPs per multiply-add, half the T x T square each); backward = 2.5 x
// forward, so forward+backward = 3.5 x forward.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/rng.h"
#include "ops/ops.h"

#if LOGLIN_WITH_CUDA
#include "core/cuda_check.h"
#include "core/cuda_stream.h"
#include "cuda_timing.h"
#endif

using namespace loglin;

namespace {

struct Config {
  int64_t B, H, T, D;
};

#if LOGLIN_WITH_CUDA

Tensor unfused(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  const int64_t T = q.size(2);
  std::vector<int32_t> mask(T * T);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t s = 0; s < T; ++s) mask[t * T + s] = s > t;
  Tensor m = Tensor::from_vector(mask, {T, T}).to(q.device());
  Tensor scores = masked_fill(matmul(q, k.transpose(2, 3)) * scale, m, -INFINITY);
  return matmul(softmax(scores, -1), v);
}

// The unfused reference on bf16 inputs: f32 maths, bf16 result and gradients.
Tensor unfused_via_f32(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  return unfused(q.to(DType::f32), k.to(DType::f32), v.to(DType::f32), scale).to(q.dtype());
}

using AttnFn = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&, double)>;

struct Timing {
  double fwd_ms = NAN, fwd_bwd_ms = NAN;
  std::string note;
};

Timing time_op(const Config& c, DType dtype, const AttnFn& fn) {
  Generator gen(1);
  auto make = [&](int64_t rows) {
    Tensor t = randn({c.B, c.H, rows, c.D}, DType::f32, gen).to(dtype).to(Device::cuda()).detach();
    t.set_requires_grad(true);
    return t;
  };
  Tensor q = make(c.T), k = make(c.T), v = make(c.T);
  Tensor dy = randn({c.B, c.H, c.T, c.D}, DType::f32, gen).to(dtype).to(Device::cuda());
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
  Timing t;
  try {
    t.fwd_ms = bench::cuda_median_ms([&] {
      NoGradGuard no_grad;
      (void)fn(q, k, v, scale);
    }, 3, 20);
    t.fwd_bwd_ms = bench::cuda_median_ms([&] {
      q.zero_grad(), k.zero_grad(), v.zero_grad();
      fn(q, k, v, scale).backward(dy);
    }, 3, 20);
  } catch (const Error& e) {
    t.note = e.what();
  }
  cuda::synchronize(0);
  cuda::empty_cache(0);
  return t;
}
#endif

}  // namespace

int main() {
#if !LOGLIN_WITH_CUDA
  fmt::print("bench_attention_cuda: this build has no CUDA backend\n");
  return 0;
#else
  if (!cuda_is_available()) {
    fmt::print("bench_attention_cuda: no CUDA device present\n");
    return 0;
  }
  const std::vector<Config> configs = {{8, 12, 2048, 64}, {2, 12, 8192, 64}};
  fmt::print("| B | H | T | D | impl | dtype | fwd ms | fwd TFLOP/s | fwd+bwd ms | fwd+bwd TFLOP/s |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Config& c : configs) {
    const double fwd_flops = 2.0 * c.B * c.H * static_cast<double>(c.T) * c.T * c.D;
    struct Row {
      const char* impl;
      DType dtype;
      AttnFn fn;
    };
    const std::vector<Row> rows = {
        {"fused", DType::f32, causal_attention},
        {"fused", DType::bf16, causal_attention},
        {"unfused", DType::f32, unfused},
        {"unfused (f32 maths)", DType::bf16, unfused_via_f32},
    };
    for (const Row& r : rows) {
      Timing t = time_op(c, r.dtype, r.fn);
      fmt::print("| {} | {} | {} | {} | {} | {} | {:.3f} | {:.1f} | {:.3f} | {:.1f} |{}\n", c.B, c.H, c.T, c.D, r.impl,
                 dtype_name(r.dtype), t.fwd_ms, fwd_flops / (t.fwd_ms * 1e9), t.fwd_bwd_ms,
                 3.5 * fwd_flops / (t.fwd_bwd_ms * 1e9), t.note.empty() ? "" : " " + t.note);
    }
  }
  return 0;
#endif
}

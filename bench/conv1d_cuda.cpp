// causal_conv1d on the GPU at Mamba-2's training shapes: x [B, T, C] is a
// narrow() of the last dim of a wider [B, T, C_proj] projection, as split()
// gives it. Rows:
//   fused     causal_conv1d(x, w, b, silu): x read in place, one kernel each way
//   unfused   silu(causal_conv1d(x.contiguous(), w, b)): the copy, the conv, and
//             a separate silu pass each way (what Mamba-2 ran before the fusion)
// forward alone (no grad) and forward+backward (dx, dweight, dbias).
//
//   bench_conv1d_cuda
//
// Times with CUDA events on loglin's stream: 3 warm-up runs, the median of 20.
// GB/s counts the bytes the fused op must move (stated, not measured):
// forward reads x and writes out (2 B*T*C elements); backward reads dy and x
// and writes dx (3 more), so forward+backward moves 5 B*T*C elements. Both
// rows' forward+backward also include narrow()'s backward into the projection's
// gradient and the forward again.
#include <fmt/format.h>

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
#include "cuda_timing.h"
#endif

using namespace loglin;

namespace {

struct Config {
  int64_t B, T, C, C_proj, W;
};

#if LOGLIN_WITH_CUDA

using ConvFn = std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>;

struct Timing {
  double fwd_ms = NAN, fwd_bwd_ms = NAN;
};

Timing time_op(const Config& c, const ConvFn& fn) {
  Generator gen(1);
  Tensor proj = randn({c.B, c.T, c.C_proj}, DType::f32, gen).to(Device::cuda()).detach();
  proj.set_requires_grad(true);
  Tensor w = randn({c.C, c.W}, DType::f32, gen).to(Device::cuda()).detach();
  Tensor b = randn({c.C}, DType::f32, gen).to(Device::cuda()).detach();
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor dy = randn({c.B, c.T, c.C}, DType::f32, gen).to(Device::cuda());
  const int64_t off = c.C_proj - c.C >= 4 ? 4 : 0;  // an aligned window, as Mamba-2's xBC (after z) is
  Timing t;
  t.fwd_ms = bench::cuda_median_ms([&] {
    NoGradGuard no_grad;
    (void)fn(proj.narrow(2, off, c.C), w, b);
  }, 3, 20);
  t.fwd_bwd_ms = bench::cuda_median_ms([&] {
    proj.zero_grad(), w.zero_grad(), b.zero_grad();
    fn(proj.narrow(2, off, c.C), w, b).backward(dy);
  }, 3, 20);
  cuda::synchronize(0);
  cuda::empty_cache(0);
  return t;
}

#endif

}  // namespace

int main() {
#if !LOGLIN_WITH_CUDA
  fmt::print("bench_conv1d_cuda: this build has no CUDA backend\n");
  return 0;
#else
  if (!cuda_is_available()) {
    fmt::print("bench_conv1d_cuda: no CUDA device present\n");
    return 0;
  }
  // d_model 768 log-linear Mamba-2: conv_dim 1792 of a 3688-wide projection; T = 2048 and 8192.
  const std::vector<Config> configs = {{8, 2048, 1792, 3688, 4}, {2, 8192, 1792, 3688, 4}};
  struct Row {
    const char* impl;
    ConvFn fn;
  };
  const std::vector<Row> rows = {
      {"fused", [](const Tensor& x, const Tensor& w,
                   const Tensor& b) { return causal_conv1d(x, w, b, ConvActivation::silu); }},
      {"unfused", [](const Tensor& x, const Tensor& w,
                     const Tensor& b) { return silu(causal_conv1d(x.contiguous(), w, b)); }},
  };
  fmt::print("| B | T | C | W | impl | fwd ms | fwd GB/s | fwd+bwd ms | fwd+bwd GB/s |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  for (const Config& c : configs) {
    const double bytes = static_cast<double>(c.B) * c.T * c.C * sizeof(float);  // one [B, T, C] f32 tensor
    for (const Row& r : rows) {
      Timing t = time_op(c, r.fn);
      fmt::print("| {} | {} | {} | {} | {} | {:.3f} | {:.0f} | {:.3f} | {:.0f} |\n", c.B, c.T, c.C, c.W, r.impl,
                 t.fwd_ms, 2 * bytes / (t.fwd_ms * 1e6), t.fwd_bwd_ms, 5 * bytes / (t.fwd_bwd_ms * 1e6));
    }
  }
  return 0;
#endif
}

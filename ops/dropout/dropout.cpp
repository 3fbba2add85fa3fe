#include "ops/dropout/dropout.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/dropout/dropout_math.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/dropout/dropout_cuda.h"
#endif

namespace loglin {
namespace {

// Elementwise loops split across threads only when there is enough work.
constexpr int64_t kParallelGrain = 1 << 15;

// a * mask, elementwise in row-major order of a, as a new tensor on a's
// device (no history). The mask is a hash of (seed, index), so the forward
// and the backward, and the CPU and CUDA paths, see the same one.
Tensor apply_mask(const Tensor& a, const dropout_rng::Mask& mask) {
  Tensor ac = a.is_contiguous() ? a : core::contiguous_copy(a);
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  dispatch_float(a, "dropout", [&]<class T>() {
    const T* in = ac.data<T>();
    T* o = out.data<T>();
    const int64_t n = out.numel();
#if LOGLIN_WITH_CUDA
    if (on_cuda(a)) {
      cuda::dropout_apply<T>(in, o, n, mask, a.device().index);
      return;
    }
#endif
    check_cpu("dropout", a);
#pragma omp parallel for if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) o[i] = mask.apply(in[i], static_cast<uint64_t>(i));
  });
  return out;
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  check_defined("dropout", {&x});
  LOGLIN_CHECK(p >= 0.0 && p <= 1.0, "[dropout] p must be in [0, 1], got {}", p);
  if (!training || p == 0.0) return x;
  // One draw per call: the seed of this call's mask.
  const dropout_rng::Mask mask = dropout_rng::Mask::make(gen.next_u64(), p);
  Tensor out = apply_mask(x, mask);
  autograd::record("dropout", {x}, {out}, [mask](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{apply_mask(ctx.grads[0], mask)};
  });
  return out;
}

}  // namespace loglin

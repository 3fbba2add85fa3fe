#include "ops/swiglu/swiglu.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/kernel_args.h"
#include "ops/op_checks.h"
#include "ops/swiglu/swiglu_math.h"
#if LOGLIN_WITH_CUDA
#include "ops/swiglu/swiglu_cuda.h"
#endif

namespace loglin {
namespace {

template <class T>
void swiglu_fwd_cpu(const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = swiglu_math::forward(a[i], b[i]);
}

template <class T>
void swiglu_bwd_cpu(const T* a, const T* b, const T* g, T* da, T* db, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    T ga, gb;
    swiglu_math::backward(a[i], b[i], g[i], ga, gb);
    if (da) da[i] = ga;
    if (db) db[i] = gb;
  }
}

}  // namespace

// a, b: the same shape, dtype and device -> out of that shape.
Tensor swiglu(const Tensor& a, const Tensor& b) {
  check_defined("swiglu", {&a, &b});
  if (via_f32::both_bf16(a, b)) return via_f32::through_f32(swiglu(via_f32::as_f32(a), via_f32::as_f32(b)));
  LOGLIN_CHECK(a.shape() == b.shape(), "[swiglu] a has shape {} but b has shape {}; they must match",
               shape_str(a.shape()), shape_str(b.shape()));
  check_same_dtype("swiglu", a, b);
  check_same_device("swiglu", a, b);
  Tensor ac = dense(a), bc = dense(b);
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  const int64_t n = a.numel();
  dispatch_float(a, "swiglu", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(a)) return cuda::swiglu_fwd<T>(ac.data<T>(), bc.data<T>(), out.data<T>(), n, a.device().index);
#endif
    swiglu_fwd_cpu<T>(ac.data<T>(), bc.data<T>(), out.data<T>(), n);
  });
  autograd::record("swiglu", {a, b}, {out}, [a = ac.detach(), b = bc.detach(), n](autograd::BackwardContext& ctx) {
    const Tensor g = dense(ctx.grads[0], a.dtype());
    Tensor da = ctx.needs(0) ? Tensor::empty(a.shape(), a.dtype(), a.device()) : Tensor();
    Tensor db = ctx.needs(1) ? Tensor::empty(a.shape(), a.dtype(), a.device()) : Tensor();
    dispatch_float(a, "swiglu", [&]<class T>() {
#if LOGLIN_WITH_CUDA
      if (on_cuda(a))
        return cuda::swiglu_bwd<T>(a.data<T>(), b.data<T>(), g.data<T>(), data_or_null<T>(da), data_or_null<T>(db), n,
                                   a.device().index);
#endif
      swiglu_bwd_cpu<T>(a.data<T>(), b.data<T>(), g.data<T>(), data_or_null<T>(da), data_or_null<T>(db), n);
    });
    return std::vector<Tensor>{da, db};
  });
  return out;
}

}  // namespace loglin

#include "ops/conv1d/causal_conv1d.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/conv1d/causal_conv1d_cpu.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/conv1d/causal_conv1d_cuda.h"
#endif

namespace loglin {
namespace {

Tensor contiguous_raw(const Tensor& t) { return t.is_contiguous() ? t : core::contiguous_copy(t); }

// (R, K) -> (K, R) as a new contiguous tensor, outside autograd.
Tensor transposed_raw(const Tensor& t) {
  return core::contiguous_copy(
      core::as_strided(t, {t.shape()[1], t.shape()[0]}, {t.strides()[1], t.strides()[0]}, t.offset()));
}

void check_inputs(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const char* op = "causal_conv1d";
  check_defined(op, {&x, &weight});
  check_dim(op, x, 3, "x [B, T, C]");
  const int64_t C = x.shape()[2];
  LOGLIN_CHECK(weight.dim() == 2 && weight.shape()[0] == C, "[causal_conv1d] weight must be [C, W] with C = {}, got {}",
               C, shape_str(weight.shape()));
  LOGLIN_CHECK(weight.shape()[1] >= 1, "[causal_conv1d] weight must have at least one tap (W >= 1), got {}",
               shape_str(weight.shape()));
  check_same_dtype(op, x, weight);
  check_same_device(op, x, weight);
  if (bias.defined()) {
    LOGLIN_CHECK(bias.dim() == 1 && bias.shape()[0] == C, "[causal_conv1d] bias must be [C] with C = {}, got {}", C,
                 shape_str(bias.shape()));
    check_same_dtype(op, x, bias);
    check_same_device(op, x, bias);
  }
}

}  // namespace

// x (B,T,C), weight (C,W), bias (C) or undefined -> out (B,T,C).
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_inputs(x, weight, bias);
  const int64_t B = x.shape()[0], T_ = x.shape()[1], C = x.shape()[2], W = weight.shape()[1];
  Tensor xc = contiguous_raw(x);
  Tensor wt = transposed_raw(weight);
  Tensor bc = bias.defined() ? contiguous_raw(bias) : Tensor();
  Tensor out = Tensor::empty({B, T_, C}, x.dtype(), x.device());
  dispatch_float(x.dtype(), "causal_conv1d", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(x))
      return cuda::causal_conv1d_fwd<T>(xc.data<T>(), wt.data<T>(), bc.defined() ? bc.data<T>() : nullptr,
                                        out.data<T>(), B, T_, C, W, x.device().index);
#endif
    cpu::causal_conv1d_fwd_cpu<T>(xc.data<T>(), wt.data<T>(), bc.defined() ? bc.data<T>() : nullptr, out.data<T>(), B,
                                  T_, C, W);
  });

  autograd::record(
      "causal_conv1d", {x, weight, bias}, {out},
      [xc = xc.detach(), wt = wt.detach(), B, T_, C, W](autograd::BackwardContext& ctx) {
        Tensor g = contiguous_raw(ctx.grads[0]);
        Tensor dx, dw, db;
        if (ctx.needs(0)) dx = Tensor::empty({B, T_, C}, g.dtype(), g.device());
        if (ctx.needs(1)) dw = Tensor::empty({W, C}, g.dtype(), g.device());
        if (ctx.needs(2)) db = Tensor::empty({C}, g.dtype(), g.device());
        dispatch_float(g.dtype(), "causal_conv1d", [&]<class T>() {
#if LOGLIN_WITH_CUDA
          if (on_cuda(g)) {
            const int device = g.device().index;
            if (dx.defined())
              cuda::causal_conv1d_bwd_dx<T>(g.data<T>(), wt.data<T>(), dx.data<T>(), B, T_, C, W, device);
            if (dw.defined() || db.defined()) {
              Tensor part = Tensor::empty({cuda::causal_conv1d_bwd_chunks(B * T_), W + 1, C}, g.dtype(), g.device());
              cuda::causal_conv1d_bwd_dw<T>(g.data<T>(), xc.data<T>(), dw.defined() ? dw.data<T>() : nullptr,
                                            db.defined() ? db.data<T>() : nullptr, part.data<T>(), B, T_, C, W,
                                            device);
            }
            return;
          }
#endif
          if (dx.defined()) cpu::causal_conv1d_bwd_dx_cpu<T>(g.data<T>(), wt.data<T>(), dx.data<T>(), B, T_, C, W);
          if (dw.defined() || db.defined())
            cpu::causal_conv1d_bwd_dw_cpu<T>(g.data<T>(), xc.data<T>(), dw.defined() ? dw.data<T>() : nullptr,
                                             db.defined() ? db.data<T>() : nullptr, B, T_, C, W);
        });
        return std::vector<Tensor>{dx, dw.defined() ? transposed_raw(dw) : Tensor(), db};
      });
  return out;
}

}  // namespace loglin

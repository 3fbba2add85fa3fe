// causal_conv1d: input checks, the row layout of x (read in place when its
// [B, T] dims merge into rows of one stride, else copied dense), dispatch to
// the CPU loops (causal_conv1d_cpu.h) or the CUDA kernels
// (causal_conv1d_cuda.cu), and the backward node. The node saves x as read,
// the transposed weight and the bias; with an activation the backward
// recomputes the pre-activation from them (the CPU into a dz scratch, CUDA
// inside its one backward kernel).
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

// x [B, T, C] read as B*T rows of C: the row stride when the channel dim has
// unit stride and the [B, T] dims merge into one row stride (stride[0] ==
// T * stride[1], as a narrow() or split() of the last dim gives); -1 when
// they do not. Dims of size 1 take any stride.
int64_t row_stride(const Tensor& t) {
  const Shape& sh = t.shape();
  const Shape& st = t.strides();
  const int64_t B = sh[0], T_ = sh[1], C = sh[2];
  if (C > 1 && st[2] != 1) return -1;
  int64_t ld = C;
  if (B > 1 && T_ > 1) ld = st[0] == T_ * st[1] ? st[1] : -1;
  else if (T_ > 1) ld = st[1];
  else if (B > 1) ld = st[0];
  return ld >= 0 ? ld : -1;
}

// t itself when row_stride reads it, else a dense copy; ld gets the row stride.
Tensor as_rows(const Tensor& t, int64_t& ld) {
  ld = row_stride(t);
  if (ld >= 0) return t;
  ld = t.shape()[2];
  return core::contiguous_copy(t);
}

}  // namespace

// x (B,T,C), weight (C,W), bias (C) or undefined -> out (B,T,C) = act(conv).
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvActivation activation) {
  check_inputs(x, weight, bias);
  const int64_t B = x.shape()[0], T_ = x.shape()[1], C = x.shape()[2], W = weight.shape()[1];
  const ConvActivation act = activation;
  const bool silu = act == ConvActivation::silu;
  LOGLIN_CHECK(act == ConvActivation::none || silu, "[causal_conv1d] unknown activation {}", static_cast<int>(act));
  int64_t ldx = 0;
  Tensor xr = as_rows(x, ldx).detach();
  Tensor wt = transposed_raw(weight);
  Tensor bc = bias.defined() ? contiguous_raw(bias).detach() : Tensor();
  Tensor out = Tensor::empty({B, T_, C}, x.dtype(), x.device());
  dispatch_float(x.dtype(), "causal_conv1d", [&]<class T>() {
    const T* bp = bc.defined() ? bc.data<T>() : nullptr;
#if LOGLIN_WITH_CUDA
    if (on_cuda(x))
      return cuda::causal_conv1d_fwd<T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W, act,
                                        x.device().index);
#endif
    if (silu) cpu::causal_conv1d_fwd_cpu<true, T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W);
    else cpu::causal_conv1d_fwd_cpu<false, T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W);
  });

  // Saves x as read (a view when it was one), the transposed weight and the
  // bias; the backward recomputes the pre-activation from them.
  autograd::record(
      "causal_conv1d", {x, weight, bias}, {out},
      [xr, ldx, wt = wt.detach(), bc, B, T_, C, W, act, silu](autograd::BackwardContext& ctx) {
        int64_t ldg = 0;
        Tensor g = as_rows(ctx.grads[0], ldg);
        Tensor dx, dw, db;
        if (ctx.needs(0)) dx = Tensor::empty({B, T_, C}, g.dtype(), g.device());
        if (ctx.needs(1)) dw = Tensor::empty({W, C}, g.dtype(), g.device());
        if (ctx.needs(2)) db = Tensor::empty({C}, g.dtype(), g.device());
        dispatch_float(g.dtype(), "causal_conv1d", [&]<class T>() {
          const T* bp = bc.defined() ? bc.data<T>() : nullptr;
          T* dxp = dx.defined() ? dx.data<T>() : nullptr;
          T* dwp = dw.defined() ? dw.data<T>() : nullptr;
          T* dbp = db.defined() ? db.data<T>() : nullptr;
#if LOGLIN_WITH_CUDA
          if (on_cuda(g)) {
            Tensor part;
            if (dwp || dbp)
              part = Tensor::empty({cuda::causal_conv1d_bwd_chunks(B * T_), W + 1, C}, g.dtype(), g.device());
            cuda::causal_conv1d_bwd<T>(g.data<T>(), ldg, xr.data<T>(), ldx, wt.data<T>(), bp, dxp, dwp, dbp,
                                       part.defined() ? part.data<T>() : nullptr, B, T_, C, W, act,
                                       g.device().index);
            return;
          }
#endif
          // dz = g * act'(z): g itself without an activation, else recomputed into scratch.
          Tensor dz = g;
          int64_t ldz = ldg;
          if (silu && (dxp || dwp || dbp)) {
            dz = Tensor::empty({B, T_, C}, g.dtype(), g.device());
            ldz = C;
            cpu::causal_conv1d_bwd_dz_silu_cpu<T>(g.data<T>(), ldg, xr.data<T>(), ldx, wt.data<T>(), bp, dz.data<T>(),
                                                  B, T_, C, W);
          }
          if (dxp) cpu::causal_conv1d_bwd_dx_cpu<T>(dz.data<T>(), ldz, wt.data<T>(), dxp, B, T_, C, W);
          if (dwp || dbp)
            cpu::causal_conv1d_bwd_dw_cpu<T>(dz.data<T>(), ldz, xr.data<T>(), ldx, dwp, dbp, B, T_, C, W);
        });
        return std::vector<Tensor>{dx, dw.defined() ? transposed_raw(dw) : Tensor(), db};
      });
  return out;
}

}  // namespace loglin

// Fused RMSNorm over the last dim. x [..., D] is read as [rows, D]; the
// forward saves one rstd per row, and the backward (rms_norm_cpu.h, and
// rms_norm_cuda.h on CUDA) gives dx and dweight in one sweep over the rows.
#include "ops/norm/rms_norm.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/kernel_args.h"
#include "ops/norm/rms_norm_cpu.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/norm/norm_cuda_plan.h"
#include "ops/norm/rms_norm_cuda.h"
#endif

namespace loglin {
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  check_defined("rms_norm", {&x});
  // bf16 x (with a bf16 or f32 weight, as mixed precision keeps it): f32 inside, bf16 out.
  if (via_f32::is_bf16(x))
    return via_f32::through_f32(rms_norm(via_f32::as_f32(x), weight.defined() ? via_f32::as_f32(weight) : weight, eps));
  LOGLIN_CHECK(x.dim() >= 1 && x.shape().back() > 0, "[rms_norm] x must have a non-empty last dim, got shape {}",
               shape_str(x.shape()));
  const int64_t D = x.shape().back();
  const int64_t rows = x.numel() / D;
  if (weight.defined()) {
    LOGLIN_CHECK(weight.shape() == Shape{D}, "[rms_norm] weight has shape {}, expected [{}] (the last dim of x)",
                 shape_str(weight.shape()), D);
    check_same_dtype("rms_norm", x, weight);
    check_same_device("rms_norm", x, weight);
  }
  LOGLIN_CHECK(eps >= 0, "[rms_norm] eps must be >= 0, got {}", eps);

  Tensor xc = dense(x, x.dtype());
  Tensor w = weight.defined() ? dense(weight, x.dtype()) : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  dispatch_float(x, "rms_norm", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(x))
      return cuda::rms_norm_fwd<T>(xc.data<T>(), data_or_null<T>(w), y.data<T>(), rstd.data<T>(), rows, D, eps,
                                   x.device().index);
#endif
    cpu::rms_norm_fwd<T>(xc.data<T>(), data_or_null<T>(w), y.data<T>(), rstd.data<T>(), rows, D, eps);
  });

  autograd::record(
      "rms_norm", {x, weight}, {y},
      [x = xc.detach(), w = w.defined() ? w.detach() : Tensor(), rstd, rows, D](autograd::BackwardContext& ctx) {
        Tensor g = dense(ctx.grads[0], x.dtype());
        Tensor dx = ctx.needs(0) ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
        Tensor dw = ctx.needs(1) ? Tensor::empty({D}, x.dtype(), x.device()) : Tensor();
        dispatch_float(x, "rms_norm", [&]<class T>() {
#if LOGLIN_WITH_CUDA
          if (on_cuda(x)) {
            Tensor dw_part = dw.defined() ? Tensor::empty({cuda::norm_bwd_blocks(rows, D), D}, x.dtype(), x.device())
                                          : Tensor();
            return cuda::rms_norm_bwd<T>(x.data<T>(), data_or_null<T>(w), rstd.data<T>(), g.data<T>(),
                                         data_or_null<T>(dx), data_or_null<T>(dw), data_or_null<T>(dw_part), rows, D,
                                         x.device().index);
          }
#endif
          cpu::rms_norm_bwd<T>(x.data<T>(), data_or_null<T>(w), rstd.data<T>(), g.data<T>(), data_or_null<T>(dx),
                               data_or_null<T>(dw), rows, D);
        });
        return std::vector<Tensor>{dx, dw};
      });
  return y;
}

}  // namespace loglin

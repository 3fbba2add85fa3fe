// Fused LayerNorm over the last dim. x [..., D] is read as [rows, D]; the
// forward saves mean and rstd per row, and the backward (layer_norm_cpu.h,
// and layer_norm_cuda.h on CUDA) gives dx, dweight and dbias in one sweep
// over the rows.
#include "ops/norm/layer_norm.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/kernel_args.h"
#include "ops/norm/layer_norm_cpu.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/norm/layer_norm_cuda.h"
#include "ops/norm/norm_cuda_plan.h"
#endif

namespace loglin {
namespace {

void check_param(const Tensor& x, const Tensor& p, const char* what, int64_t D) {
  if (!p.defined()) return;
  LOGLIN_CHECK(p.shape() == Shape{D}, "[layer_norm] {} has shape {}, expected [{}] (the last dim of x)", what,
               shape_str(p.shape()), D);
  check_same_dtype("layer_norm", x, p);
  check_same_device("layer_norm", x, p);
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  check_defined("layer_norm", {&x});
  // bf16 x (with bf16 or f32 weight and bias, as mixed precision keeps them): f32 inside, bf16 out.
  if (via_f32::is_bf16(x))
    return via_f32::through_f32(layer_norm(via_f32::as_f32(x), weight.defined() ? via_f32::as_f32(weight) : weight,
                                           bias.defined() ? via_f32::as_f32(bias) : bias, eps));
  LOGLIN_CHECK(x.dim() >= 1 && x.shape().back() > 0, "[layer_norm] x must have a non-empty last dim, got shape {}",
               shape_str(x.shape()));
  const int64_t D = x.shape().back();
  const int64_t rows = x.numel() / D;
  check_param(x, weight, "weight", D);
  check_param(x, bias, "bias", D);
  LOGLIN_CHECK(eps >= 0, "[layer_norm] eps must be >= 0, got {}", eps);

  Tensor xc = dense(x, x.dtype());
  Tensor w = weight.defined() ? dense(weight, x.dtype()) : Tensor();
  Tensor b = bias.defined() ? dense(bias, x.dtype()) : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({rows}, x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  dispatch_float(x, "layer_norm", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(x))
      return cuda::layer_norm_fwd<T>(xc.data<T>(), data_or_null<T>(w), data_or_null<T>(b), y.data<T>(),
                                     mean.data<T>(), rstd.data<T>(), rows, D, eps, x.device().index);
#endif
    cpu::layer_norm_fwd<T>(xc.data<T>(), data_or_null<T>(w), data_or_null<T>(b), y.data<T>(), mean.data<T>(),
                           rstd.data<T>(), rows, D, eps);
  });

  // The bias is not needed by the backward, only whether it wants a gradient.
  autograd::record(
      "layer_norm", {x, weight, bias}, {y},
      [x = xc.detach(), w = w.defined() ? w.detach() : Tensor(), mean, rstd, rows, D](autograd::BackwardContext& ctx) {
        Tensor g = dense(ctx.grads[0], x.dtype());
        Tensor dx = ctx.needs(0) ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
        Tensor dw = ctx.needs(1) ? Tensor::empty({D}, x.dtype(), x.device()) : Tensor();
        Tensor db = ctx.needs(2) ? Tensor::empty({D}, x.dtype(), x.device()) : Tensor();
        dispatch_float(x, "layer_norm", [&]<class T>() {
#if LOGLIN_WITH_CUDA
          if (on_cuda(x)) {
            const Shape part{cuda::norm_bwd_blocks(rows, D), D};
            Tensor dw_part = dw.defined() ? Tensor::empty(part, x.dtype(), x.device()) : Tensor();
            Tensor db_part = db.defined() ? Tensor::empty(part, x.dtype(), x.device()) : Tensor();
            return cuda::layer_norm_bwd<T>(x.data<T>(), data_or_null<T>(w), mean.data<T>(), rstd.data<T>(),
                                           g.data<T>(), data_or_null<T>(dx), data_or_null<T>(dw), data_or_null<T>(db),
                                           data_or_null<T>(dw_part), data_or_null<T>(db_part), rows, D,
                                           x.device().index);
          }
#endif
          cpu::layer_norm_bwd<T>(x.data<T>(), data_or_null<T>(w), mean.data<T>(), rstd.data<T>(), g.data<T>(),
                                 data_or_null<T>(dx), data_or_null<T>(dw), data_or_null<T>(db), rows, D);
        });
        return std::vector<Tensor>{dx, dw, db};
      });
  return y;
}

}  // namespace loglin

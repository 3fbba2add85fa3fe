// Fused gated RMSNorm over the last dim: rms_norm(x, weight, eps) * silu(z)
// in one kernel each way, instead of a norm, a silu and a mul (and their
// three backward passes). x [..., D] is read as contiguous [rows, D]; z is
// read in place as [rows, D] with its own row stride whenever its leading
// dims collapse into one stride with a unit inner stride (Mamba-2's z is such
// a slice of the in_proj output), else from a contiguous copy. The forward
// saves one rstd per row; the backward (rms_norm_gated_cpu.h, and
// rms_norm_gated_cuda.h on CUDA) gives dx, dz and dweight in one sweep.
#include "ops/norm/rms_norm_gated.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/kernel_args.h"
#include "ops/norm/rms_norm_gated_cpu.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/norm/norm_cuda_plan.h"
#include "ops/norm/rms_norm_gated_cuda.h"
#endif

namespace loglin {
Tensor rms_norm_gated(const Tensor& x, const Tensor& z, const Tensor& weight, double eps) {
  check_defined("rms_norm_gated", {&x, &z});
  // bf16 x and z (with a bf16 or f32 weight): f32 inside, bf16 out.
  if (via_f32::both_bf16(x, z))
    return via_f32::through_f32(rms_norm_gated(via_f32::as_f32(x), via_f32::as_f32(z),
                                               weight.defined() ? via_f32::as_f32(weight) : weight, eps));
  LOGLIN_CHECK(x.dim() >= 1 && x.shape().back() > 0,
               "[rms_norm_gated] x must have a non-empty last dim, got shape {}", shape_str(x.shape()));
  LOGLIN_CHECK(z.shape() == x.shape(), "[rms_norm_gated] z has shape {} but x has shape {} (they must match)",
               shape_str(z.shape()), shape_str(x.shape()));
  check_same_dtype("rms_norm_gated", x, z);
  check_same_device("rms_norm_gated", x, z);
  const int64_t D = x.shape().back();
  const int64_t rows = x.numel() / D;
  if (weight.defined()) {
    LOGLIN_CHECK(weight.shape() == Shape{D},
                 "[rms_norm_gated] weight has shape {}, expected [{}] (the last dim of x)", shape_str(weight.shape()),
                 D);
    check_same_dtype("rms_norm_gated", x, weight);
    check_same_device("rms_norm_gated", x, weight);
  }
  LOGLIN_CHECK(eps >= 0, "[rms_norm_gated] eps must be >= 0, got {}", eps);

  Tensor xc = dense(x, x.dtype());
  const RowView zr = row_view(z);
  Tensor w = weight.defined() ? dense(weight, x.dtype()) : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty({rows}, x.dtype(), x.device());
  dispatch_float(x, "rms_norm_gated", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(x))
      return cuda::rms_norm_gated_fwd<T>(xc.data<T>(), zr.t.data<T>(), zr.stride, data_or_null<T>(w),
                                         y.data<T>(), rstd.data<T>(), rows, D, eps, x.device().index);
#endif
    cpu::rms_norm_gated_fwd<T>(xc.data<T>(), zr.t.data<T>(), zr.stride, data_or_null<T>(w), y.data<T>(),
                               rstd.data<T>(), rows, D, eps);
  });

  autograd::record(
      "rms_norm_gated", {x, z, weight}, {y},
      [x = xc.detach(), z = zr.t.detach(), zs = zr.stride, w = w.defined() ? w.detach() : Tensor(), rstd, rows,
       D](autograd::BackwardContext& ctx) {
        Tensor g = dense(ctx.grads[0], x.dtype());
        Tensor dx = ctx.needs(0) ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
        Tensor dz = ctx.needs(1) ? Tensor::empty(x.shape(), x.dtype(), x.device()) : Tensor();
        Tensor dw = ctx.needs(2) ? Tensor::empty({D}, x.dtype(), x.device()) : Tensor();
        dispatch_float(x, "rms_norm_gated", [&]<class T>() {
#if LOGLIN_WITH_CUDA
          if (on_cuda(x)) {
            Tensor dw_part = dw.defined() ? Tensor::empty({cuda::norm_bwd_blocks(rows, D), D}, x.dtype(), x.device())
                                          : Tensor();
            return cuda::rms_norm_gated_bwd<T>(x.data<T>(), z.data<T>(), zs, data_or_null<T>(w), rstd.data<T>(),
                                               g.data<T>(), data_or_null<T>(dx), data_or_null<T>(dz),
                                               data_or_null<T>(dw), data_or_null<T>(dw_part), rows, D,
                                               x.device().index);
          }
#endif
          cpu::rms_norm_gated_bwd<T>(x.data<T>(), z.data<T>(), zs, data_or_null<T>(w), rstd.data<T>(), g.data<T>(),
                                     data_or_null<T>(dx), data_or_null<T>(dz), data_or_null<T>(dw), rows, D);
        });
        return std::vector<Tensor>{dx, dz, dw};
      });
  return y;
}

}  // namespace loglin

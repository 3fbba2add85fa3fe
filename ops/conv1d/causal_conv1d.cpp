// causal_conv1d: input checks, the row layout of x (read in place when its
// [B, T] dims merge into rows of one stride, else copied dense), dispatch to
// the CPU loops (causal_conv1d_cpu.h) or the CUDA kernels
// (causal_conv1d_cuda.cu), and the backward node. The node saves x as read,
// the transposed weight and the bias; with an activation the backward
// recomputes the pre-activation from them (the CPU into a dz scratch, CUDA
// inside its one backward kernel).
#include "ops/conv1d/causal_conv1d.h"

#include <fmt/format.h>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/conv1d/causal_conv1d_cpu.h"
#include "ops/conv1d/causal_conv1d_versions.h"
#include "ops/explain.h"
#include "ops/kernel_registry.h"
#include "ops/kernel_args.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/conv1d/causal_conv1d_cuda.h"
#endif

namespace loglin {
namespace {

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

constexpr const char* kOp = "causal_conv1d";

// The implementation that runs a call (cpu, or a registered CUDA version).
KernelPlan make_plan(const Tensor& x, const Tensor& weight) {
  const int64_t B = x.shape()[0], T_ = x.shape()[1], C = x.shape()[2], W = weight.shape()[1];
  KernelPlan p;
  p.op = kOp;
  p.call = fmt::format("x [{}, {}, {}], W = {}", B, T_, C, W);
  p.device = x.device();
  p.input_dtype = p.compute_dtype = x.dtype();
  if (!on_cuda(x)) {
    p.reason = "the CPU loops";
    return p;
  }
  const CausalConv1dCall call{W, B * T_};
  const CausalConv1dVersion& v = kernels::select_version(
      kOp, causal_conv1d_versions(), [&](const CausalConv1dVersion& c) { return c.takes(call); },
      fmt::format("W = {}, {} rows", W, B * T_));
  p.version = v.name;
  if (!kernels::is_auto(kernel_version_choice(kOp))) p.reason = "chosen by " + kernels::choice_source(kOp);
  else if (p.version == "v2") p.reason = "W <= 8: the taps fit in registers";
  else p.reason = fmt::format("W = {} (or over 2^30 rows): v2 keeps at most 8 taps in registers", W);
  return p;
}

}  // namespace

KernelPlan plan_causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_inputs(x, weight, bias);
  return make_plan(x, weight);
}

// x (B,T,C), weight (C,W), bias (C) or undefined -> out (B,T,C) = act(conv).
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvActivation act) {
  check_inputs(x, weight, bias);
  const int64_t B = x.shape()[0], T_ = x.shape()[1], C = x.shape()[2], W = weight.shape()[1];
  const bool silu = act == ConvActivation::silu;
  LOGLIN_CHECK(act == ConvActivation::none || silu, "[causal_conv1d] unknown activation {}", static_cast<int>(act));
  const KernelPlan plan = make_plan(x, weight);
  explain(kOp, plan.str());
  const bool simple_kernel = plan.version == "v1";
  const RowView xv = row_view(x);
  const Tensor xr = xv.t.detach();
  const int64_t ldx = xv.stride;
  Tensor wt = transposed_raw(weight);
  Tensor bc = bias.defined() ? dense(bias).detach() : Tensor();
  Tensor out = Tensor::empty({B, T_, C}, x.dtype(), x.device());
  dispatch_float(x, "causal_conv1d", [&]<class T>() {
    const T* bp = data_or_null<T>(bc);
#if LOGLIN_WITH_CUDA
    if (on_cuda(x))
      return cuda::causal_conv1d_fwd<T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W, act,
                                        simple_kernel ? cuda::ConvKernel::v1 : cuda::ConvKernel::v2, x.device().index);
#endif
    if (silu) cpu::causal_conv1d_fwd_cpu<true, T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W);
    else cpu::causal_conv1d_fwd_cpu<false, T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W);
  });

  // Saves x as read (a view when it was one), the transposed weight and the
  // bias; the backward recomputes the pre-activation from them.
  autograd::record(
      "causal_conv1d", {x, weight, bias}, {out},
      [xr, ldx, wt = wt.detach(), bc, B, T_, C, W, act, silu, simple_kernel](autograd::BackwardContext& ctx) {
        const RowView gv = row_view(ctx.grads[0]);
        const Tensor& g = gv.t;
        const int64_t ldg = gv.stride;
        Tensor dx, dw, db;
        if (ctx.needs(0)) dx = Tensor::empty({B, T_, C}, g.dtype(), g.device());
        if (ctx.needs(1)) dw = Tensor::empty({W, C}, g.dtype(), g.device());
        if (ctx.needs(2)) db = Tensor::empty({C}, g.dtype(), g.device());
        dispatch_float(g, "causal_conv1d", [&]<class T>() {
          const T* bp = data_or_null<T>(bc);
          T* dxp = data_or_null<T>(dx);
          T* dwp = data_or_null<T>(dw);
          T* dbp = data_or_null<T>(db);
#if LOGLIN_WITH_CUDA
          if (on_cuda(g)) {
            Tensor part;
            if (dwp || dbp)
              part = Tensor::empty({cuda::causal_conv1d_bwd_chunks(B * T_), W + 1, C}, g.dtype(), g.device());
            cuda::causal_conv1d_bwd<T>(g.data<T>(), ldg, xr.data<T>(), ldx, wt.data<T>(), bp, dxp, dwp, dbp,
                                       data_or_null<T>(part), B, T_, C, W, act,
                                       simple_kernel ? cuda::ConvKernel::v1 : cuda::ConvKernel::v2, g.device().index);
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

// causal_conv1d: input checks, the row layout of x (read in place when its
// [B, T] dims merge into rows of one stride, else copied dense), dispatch to
// the CPU loops (causal_conv1d_cpu.h) or the CUDA kernels
// (causal_conv1d_cuda.cu), and the backward node. The node saves x as read,
// the transposed weight and the bias; with an activation the backward
// recomputes the pre-activation from them (the CPU into a dz scratch, CUDA
// inside its one backward kernel). Packed documents (cu_seqlens) pass each
// row's position in its document to the CPU loops; on CUDA they run the
// composite causal_conv1d_reference.
#include "ops/conv1d/causal_conv1d.h"

#include <fmt/format.h>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/conv1d/causal_conv1d_cpu.h"
#include "ops/conv1d/causal_conv1d_reference.h"
#include "ops/conv1d/causal_conv1d_versions.h"
#include "ops/conv1d/document_positions.h"
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

// The implementation that runs a call (cpu, a registered CUDA version, or
// the reference for packed documents on CUDA).
KernelPlan make_plan(const Tensor& x, const Tensor& weight, bool packed) {
  const int64_t B = x.shape()[0], T_ = x.shape()[1], C = x.shape()[2], W = weight.shape()[1];
  KernelPlan p;
  p.op = kOp;
  p.call = fmt::format("x [{}, {}, {}], W = {}{}", B, T_, C, W, packed ? ", packed documents" : "");
  p.device = x.device();
  p.input_dtype = p.compute_dtype = x.dtype();
  if (!on_cuda(x)) {
    p.reason = "the CPU loops";
    return p;
  }
  if (packed) {
    LOGLIN_CHECK(kernels::is_auto(kernel_version_choice(kOp)),
                 "[causal_conv1d] {} pins a CUDA version, but no CUDA version takes packed documents (cu_seqlens); "
                 "leave causal_conv1d on auto, which composes them from primitive ops",
                 kernels::choice_source(kOp));
    p.version = "reference";
    p.reason = "packed documents: the CUDA kernels have no document boundaries yet, so primitive ops compose it";
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

KernelPlan plan_causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& cu_seqlens) {
  check_inputs(x, weight, bias);
  if (cu_seqlens.defined()) conv1d_document_positions(cu_seqlens, x.shape()[0], x.shape()[1]);  // checks it
  return make_plan(x, weight, cu_seqlens.defined());
}

// x (B,T,C), weight (C,W), bias (C) or undefined -> out (B,T,C) = act(conv);
// with cu_seqlens [N + 1] (B = 1) the taps stop at each document start.
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvActivation act,
                     const Tensor& cu_seqlens) {
  check_inputs(x, weight, bias);
  const int64_t B = x.shape()[0], T_ = x.shape()[1], C = x.shape()[2], W = weight.shape()[1];
  const bool silu = act == ConvActivation::silu;
  LOGLIN_CHECK(act == ConvActivation::none || silu, "[causal_conv1d] unknown activation {}", static_cast<int>(act));
  // Each row's position in its document (empty: B sequences of T_ rows).
  std::vector<int64_t> doc_pos;
  if (cu_seqlens.defined()) doc_pos = conv1d_document_positions(cu_seqlens, B, T_);
  const KernelPlan plan = make_plan(x, weight, cu_seqlens.defined());
  explain(kOp, plan.str());
  if (plan.version == "reference") return causal_conv1d_reference(x, weight, bias, act, cu_seqlens);
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
    const int64_t* pos = doc_pos.empty() ? nullptr : doc_pos.data();
    if (silu)
      cpu::causal_conv1d_fwd_cpu<true, T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W, pos);
    else cpu::causal_conv1d_fwd_cpu<false, T>(xr.data<T>(), ldx, wt.data<T>(), bp, out.data<T>(), B, T_, C, W, pos);
  });

  // Saves x as read (a view when it was one), the transposed weight and the
  // bias; the backward recomputes the pre-activation from them.
  autograd::record(
      "causal_conv1d", {x, weight, bias}, {out},
      [xr, ldx, wt = wt.detach(), bc, B, T_, C, W, act, silu, simple_kernel,
       doc_pos = std::move(doc_pos)](autograd::BackwardContext& ctx) {
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
          const int64_t* pos = doc_pos.empty() ? nullptr : doc_pos.data();
          // dz = g * act'(z): g itself without an activation, else recomputed into scratch.
          Tensor dz = g;
          int64_t ldz = ldg;
          if (silu && (dxp || dwp || dbp)) {
            dz = Tensor::empty({B, T_, C}, g.dtype(), g.device());
            ldz = C;
            cpu::causal_conv1d_bwd_dz_silu_cpu<T>(g.data<T>(), ldg, xr.data<T>(), ldx, wt.data<T>(), bp, dz.data<T>(),
                                                  B, T_, C, W, pos);
          }
          if (dxp) cpu::causal_conv1d_bwd_dx_cpu<T>(dz.data<T>(), ldz, wt.data<T>(), dxp, B, T_, C, W, pos);
          if (dwp || dbp)
            cpu::causal_conv1d_bwd_dw_cpu<T>(dz.data<T>(), ldz, xr.data<T>(), ldx, dwp, dbp, B, T_, C, W, pos);
        });
        return std::vector<Tensor>{dx, dw.defined() ? transposed_raw(dw) : Tensor(), db};
      });
  return out;
}

}  // namespace loglin

// The entry of the gated delta rule and its log-linear form. It reads top to
// bottom: bf16 inputs convert to f32 (differentiably), check the inputs and
// make the plan (which implementation and why), run it, record the backward.
// One record path: the backward runs the same implementation's hand-written
// backward (cpu/chunk_backward_cpu.cpp).
#include "ops/gated_delta_rule/gated_delta_rule.h"

#include <fmt/format.h>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/explain.h"
#include "ops/gated_delta_rule/cpu/chunk_cpu.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

constexpr const char* kOp = "gated_delta_rule";
constexpr const char* kLogLinearOp = "log_linear_gated_delta_rule";

bool is_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16; }
Tensor as_f32(const Tensor& t) { return is_bf16(t) ? t.to(DType::f32) : t; }

// A contiguous tensor of dtype D with x's values and no history.
Tensor prepared(const Tensor& x, DType D) {
  if (x.is_contiguous() && x.dtype() == D) return x.detach();
  return core::contiguous_copy(x, D);
}

template <class T>
const T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* mut(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The forward's inputs as the kernels read them: contiguous, in the compute
// dtype, without history (level_scales and the initial state may be undefined).
struct Saved {
  Tensor q, k, v, g, beta, ls, state_in;
};

template <class X>
gdr::ForwardArgs<X> forward_args(const Saved& s, const Tensor& o, const Tensor& fin) {
  gdr::ForwardArgs<X> a;
  a.q = s.q.data<X>(), a.k = s.k.data<X>(), a.v = s.v.data<X>(), a.g = s.g.data<X>(), a.beta = s.beta.data<X>();
  a.ls = ptr<X>(s.ls);
  a.state_in = ptr<X>(s.state_in);
  a.o = mut<X>(o);
  a.state_out = mut<X>(fin);
  return a;
}

struct Planned {
  KernelPlan kernel;
  lla::Layout layout;
};

// q, k, v, beta, level_scales already f32 or f64 (bf16 converted by the entry).
Planned make_plan(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                  const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options, DType input) {
  check_defined(op, {&q, &k, &v, &g, &beta});
  Planned p;
  p.layout = gdr::check_inputs(op, q, k, v, g, beta, level_scales, options);
  KernelPlan& kp = p.kernel;
  kp.op = op;
  kp.call = fmt::format("q {}, v {}{}, chunk {}{}{}{}", shape_str(q.shape()), shape_str(v.shape()),
                        level_scales.defined() ? fmt::format(", L = {}", p.layout.L) : std::string(), p.layout.C,
                        options.cu_seqlens().defined() ? fmt::format(", {} packed sequences", p.layout.seqs.size())
                                                       : std::string(),
                        options.has_initial_state() ? ", initial state" : "",
                        options.return_final_state() ? ", final state" : "");
  kp.device = q.device();
  kp.input_dtype = input;
  kp.compute_dtype = q.dtype();
  LOGLIN_CHECK(!on_cuda(q),
               "[{}] has no CUDA kernels yet (issue [3/6]): the tensors are on {}; move them with .to(Device::cpu())",
               op, q.device().str());
  kp.version = "cpu";
  kp.reason = input == DType::bf16 ? "the chunked CPU code (WY form, scan over level states); bf16 computes in f32"
                                   : "the chunked CPU code (WY form, scan over level states)";
  return p;
}

// Runs the chunked CPU forward on inputs in the compute dtype and records
// the backward. Gradients flow to q, k, v, g, beta, level_scales and the
// initial state's levels; the final state's levels are a second output.
GatedDeltaRuleOutput run(const char* op, const lla::Layout& lay, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& g, const Tensor& beta, const Tensor& level_scales,
                         const GatedDeltaRuleOptions& options) {
  const DType D = q.dtype();
  const Device dev = q.device();
  const int64_t B = q.size(0), T = q.size(1), N = static_cast<int64_t>(lay.seqs.size());
  const int64_t Ls = level_scales.defined() ? lay.L : 1;
  const GatedDeltaState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  Saved sv{prepared(q, D), prepared(k, D), prepared(v, D), prepared(g, D), prepared(beta, D),
           level_scales.defined() ? prepared(level_scales, D) : Tensor(), st ? prepared(st->levels, D) : Tensor()};
  Tensor o = Tensor::empty({B, T, lay.H, lay.V}, D, dev);
  Tensor fin = options.return_final_state() ? Tensor::empty({N, lay.H, Ls, lay.K, lay.V}, D, dev) : Tensor();
  dispatch_float(D, op, [&]<class X>() { gdr::chunk_forward_cpu<X>(lay, forward_args<X>(sv, o, fin)); });

  const Tensor state_levels = st ? st->levels : Tensor();
  autograd::record(
      op, {q, k, v, g, beta, level_scales, state_levels}, {o, fin},
      [op, lay, sv, has_fin = fin.defined(), g_dtype = g.dtype()](autograd::BackwardContext& ctx) {
        const DType D = sv.q.dtype();
        const Device dev = sv.q.device();
        const Tensor dout = prepared(ctx.grads[0], D);
        const Tensor dfin = has_fin ? prepared(ctx.grads[1], D) : Tensor();
        Tensor dq = Tensor::empty(sv.q.shape(), D, dev), dk = Tensor::empty(sv.k.shape(), D, dev);
        Tensor dv = Tensor::empty(sv.v.shape(), D, dev), dg = Tensor::empty(sv.g.shape(), D, dev);
        Tensor dbeta = Tensor::empty(sv.beta.shape(), D, dev);
        Tensor dls = sv.ls.defined() ? Tensor::empty(sv.ls.shape(), D, dev) : Tensor();
        Tensor dstate = sv.state_in.defined() && ctx.needs(6) ? Tensor::empty(sv.state_in.shape(), D, dev) : Tensor();
        dispatch_float(D, op, [&]<class X>() {
          gdr::BackwardArgs<X> a;
          a.fwd = forward_args<X>(sv, Tensor(), Tensor());
          a.dout = dout.data<X>();
          a.dstate_out = ptr<X>(dfin);
          a.dq = dq.data<X>(), a.dk = dk.data<X>(), a.dv = dv.data<X>(), a.dg = dg.data<X>();
          a.dbeta = dbeta.data<X>();
          a.dls = mut<X>(dls);
          a.dstate_in = mut<X>(dstate);
          gdr::chunk_backward_cpu<X>(lay, a);
        });
        if (g_dtype != D) dg = core::contiguous_copy(dg, g_dtype);
        return std::vector<Tensor>{dq, dk, dv, dg, dbeta, dls, dstate};
      });

  GatedDeltaRuleOutput out;
  out.o = o;
  if (fin.defined()) {
    out.final_state.levels = fin;
    for (const lla::Seq& s : lay.seqs) out.final_state.positions.push_back(s.pos + s.len);
  }
  return out;
}

GatedDeltaRuleOutput entry(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                           const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g, beta (B,T,H); level_scales (B,T,H,L) or undefined -> o (B,T,H,V).
  check_defined(op, {&q, &k, &v, &g, &beta});
  if (is_bf16(q) || is_bf16(k) || is_bf16(v) || is_bf16(beta) || is_bf16(level_scales)) {
    // bf16 is storage only here: compute in f32 through the differentiable
    // .to(), so gradients come back to bf16 by the same road.
    const Tensor qf = as_f32(q), kf = as_f32(k), vf = as_f32(v), bf = as_f32(beta), lf = as_f32(level_scales);
    const Planned plan = make_plan(op, qf, kf, vf, g, bf, lf, options, DType::bf16);
    explain(op, plan.kernel.str());
    GatedDeltaRuleOutput out = run(op, plan.layout, qf, kf, vf, g, bf, lf, options);
    out.o = out.o.to(DType::bf16);
    return out;
  }
  const Planned plan = make_plan(op, q, k, v, g, beta, level_scales, options, q.dtype());
  explain(op, plan.kernel.str());
  return run(op, plan.layout, q, k, v, g, beta, level_scales, options);
}

}  // namespace

GatedDeltaRuleOutput gated_delta_rule_with_state(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                                 const Tensor& beta, const GatedDeltaRuleOptions& options) {
  return entry(kOp, q, k, v, g, beta, Tensor(), options);
}

Tensor gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                        const GatedDeltaRuleOptions& options) {
  LOGLIN_CHECK(!options.return_final_state(),
               "[{}] return_final_state() is set: call gated_delta_rule_with_state to receive the state", kOp);
  return entry(kOp, q, k, v, g, beta, Tensor(), options).o;
}

GatedDeltaRuleOutput log_linear_gated_delta_rule_with_state(const Tensor& q, const Tensor& k, const Tensor& v,
                                                            const Tensor& g, const Tensor& beta,
                                                            const Tensor& level_scales,
                                                            const GatedDeltaRuleOptions& options) {
  LOGLIN_CHECK(level_scales.defined(), "[{}] level_scales is undefined: it must be [B, T, H, L] (the plain form is "
               "gated_delta_rule)", kLogLinearOp);
  return entry(kLogLinearOp, q, k, v, g, beta, level_scales, options);
}

Tensor log_linear_gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                   const Tensor& beta, const Tensor& level_scales,
                                   const GatedDeltaRuleOptions& options) {
  LOGLIN_CHECK(!options.return_final_state(),
               "[{}] return_final_state() is set: call log_linear_gated_delta_rule_with_state to receive the state",
               kLogLinearOp);
  return log_linear_gated_delta_rule_with_state(q, k, v, g, beta, level_scales, options).o;
}

KernelPlan plan_gated_delta_rule(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                 const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options) {
  const char* op = level_scales.defined() ? kLogLinearOp : kOp;
  check_defined(op, {&q, &k, &v, &g, &beta});
  const DType input = q.dtype();
  return make_plan(op, as_f32(q), as_f32(k), as_f32(v), g, as_f32(beta), as_f32(level_scales), options, input).kernel;
}

}  // namespace loglin

// The entry of the gated delta rule and its log-linear form. It reads top to
// bottom: bf16 inputs convert to f32 (differentiably), check the inputs and
// make the plan (which implementation and why: the chunked CPU code, or a
// CUDA version from the registry, kernel_versions.h), run it, record the
// backward. One record path (record.h) for every implementation: the
// backward runs the same implementation's hand-written backward.
#include "ops/gated_delta_rule/gated_delta_rule.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "ops/explain.h"
#include "ops/gated_delta_rule/checks.h"
#include "ops/gated_delta_rule/cuda/gpu_plan.h"
#include "ops/gated_delta_rule/kernel_versions.h"
#include "ops/gated_delta_rule/record.h"
#include "ops/kernel_registry.h"
#include "ops/op_checks.h"
#include "ops/precision.h"

namespace loglin {
namespace {

constexpr const char* kOp = "gated_delta_rule";
constexpr const char* kLogLinearOp = "log_linear_gated_delta_rule";

bool is_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16; }
Tensor as_f32(const Tensor& t) { return is_bf16(t) ? t.to(DType::f32) : t; }

// Whether the backward can be asked for: grad mode on and an input that
// requires a gradient.
bool wants_grad(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& beta,
                const Tensor& level_scales, const GatedDeltaRuleOptions& options) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : {&q, &k, &v, &g, &beta, &level_scales})
    if (t->defined() && t->requires_grad()) return true;
  return options.has_initial_state() && options.initial_state().levels.defined() &&
         options.initial_state().levels.requires_grad();
}

struct Planned {
  KernelPlan kernel;
  lla::Layout layout;
  // CUDA: the version that runs the call, and the call as it sees it; null on the cpu.
  const gdr::KernelVersion* version = nullptr;
  gdr::KernelCall call;
};

// Under auto, a call no in_auto version takes: the clear error, naming the
// versions that take it when chosen by name (v1 while it is being validated).
[[noreturn]] void no_auto_version(const char* op, const gdr::GpuProblem& prob, const gdr::KernelCall& call,
                                  const Tensor& q) {
  std::string named;
  for (const gdr::KernelVersion& v : gdr::gated_delta_rule_versions())
    if (!v.in_auto && v.takes(prob, call)) named += (named.empty() ? "" : ", ") + std::string(v.name);
  if (named.empty())
    LOGLIN_FAIL("[{}] no CUDA kernel version takes this call ({}), tensors on {}; move them with "
                ".to(Device::cpu())",
                op, gdr::describe(prob, call), q.device().str());
  LOGLIN_FAIL("[{}] no CUDA kernel version in auto takes this call yet (the tensors are on {}): {} can be chosen "
              "while it is being validated on a GPU, with LOGLIN_KERNELS={}={} (or set_kernel_version / "
              "KernelVersionScope); or move the tensors with .to(Device::cpu())",
              op, q.device().str(), named, gdr::kVersionsOp, named.substr(0, named.find(',')));
}

// Why a CUDA version runs: the user's choice, or what auto saw.
std::string version_reason(const gdr::KernelVersion& v, const gdr::KernelCall& c, DType input) {
  std::string why = kernels::is_auto(kernel_version_choice(gdr::kVersionsOp))
                        ? std::string("the best version in auto that takes the call")
                        : "chosen by " + kernels::choice_source(gdr::kVersionsOp);
  if (input == DType::bf16) why += "; bf16 computes in f32";
  if (c.dtype == DType::f32 && c.allow_tf32 && !v.tensor_cores)
    why += "; full f32 (this version has no TF32 kernels, so precision high changes nothing)";
  return why;
}

// q, k, v, beta, level_scales already f32 or f64 (bf16 converted by the entry).
Planned make_plan(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                  const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options, DType input,
                  bool wants_backward) {
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
  if (!on_cuda(q)) {
    kp.version = "cpu";
    kp.reason = input == DType::bf16 ? "the chunked CPU code (WY form, scan over level states); bf16 computes in f32"
                                     : "the chunked CPU code (WY form, scan over level states)";
    return p;
  }
  const gdr::GpuProblem prob = gdr::problem_of(p.layout, level_scales.defined(), q.device());
  gdr::KernelCall& call = p.call;
  call.dtype = q.dtype();
  call.log_linear = level_scales.defined();
  call.state_in = options.has_initial_state();
  call.state_out = options.return_final_state();
  // bf16 inputs carry 8 significant bits: TF32's 11 lose nothing they hold.
  call.allow_tf32 = call.dtype == DType::f32 && (float32_matmul_allows_tf32() || input == DType::bf16);
  call.backward = wants_backward;
  if (!gdr::version_taking(prob, call) && kernels::is_auto(kernel_version_choice(gdr::kVersionsOp)))
    no_auto_version(op, prob, call, q);
  const gdr::KernelVersion& ver = gdr::select_version(prob, call);
  p.version = &ver;
  kp.version = ver.name;
  kp.tf32 = call.allow_tf32 && ver.tensor_cores;
  kp.reason = version_reason(ver, call, input);
  return p;
}

// Runs the plan on inputs in the compute dtype and records the backward.
// Gradients flow to q, k, v, g, beta, level_scales and the initial state's
// levels; the final state's levels are a second output.
GatedDeltaRuleOutput run(const char* op, const Planned& plan, const Tensor& q, const Tensor& k, const Tensor& v,
                         const Tensor& g, const Tensor& beta, const Tensor& level_scales,
                         const GatedDeltaRuleOptions& options) {
  const gdr::Implementation impl = plan.version ? gdr::cuda_implementation(*plan.version, plan.layout, plan.call)
                                                : gdr::cpu_implementation(plan.layout);
  const GatedDeltaState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  return gdr::run_and_record(op, impl, plan.layout, q, k, v, g, beta, level_scales, st,
                             options.return_final_state());
}

GatedDeltaRuleOutput entry(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                           const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g, beta (B,T,H); level_scales (B,T,H,L) or undefined -> o (B,T,H,V).
  check_defined(op, {&q, &k, &v, &g, &beta});
  const bool backward = wants_grad(q, k, v, g, beta, level_scales, options);
  if (is_bf16(q) || is_bf16(k) || is_bf16(v) || is_bf16(beta) || is_bf16(level_scales)) {
    // bf16 is storage only here: compute in f32 through the differentiable
    // .to(), so gradients come back to bf16 by the same road.
    const Tensor qf = as_f32(q), kf = as_f32(k), vf = as_f32(v), bf = as_f32(beta), lf = as_f32(level_scales);
    const Planned plan = make_plan(op, qf, kf, vf, g, bf, lf, options, DType::bf16, backward);
    explain(op, plan.kernel.str());
    GatedDeltaRuleOutput out = run(op, plan, qf, kf, vf, g, bf, lf, options);
    out.o = out.o.to(DType::bf16);
    return out;
  }
  const Planned plan = make_plan(op, q, k, v, g, beta, level_scales, options, q.dtype(), backward);
  explain(op, plan.kernel.str());
  return run(op, plan, q, k, v, g, beta, level_scales, options);
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
  return make_plan(op, as_f32(q), as_f32(k), as_f32(v), g, as_f32(beta), as_f32(level_scales), options, input,
                   wants_grad(q, k, v, g, beta, level_scales, options))
      .kernel;
}

}  // namespace loglin

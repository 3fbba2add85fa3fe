// The plan of a log_linear_attention call (internal.h): every choice the
// entry makes, in one function, in this order:
//   1. the CPU: the chunked code, bf16 computing in f32;
//   2. CUDA, a head split (head_split.h) when K or V = 256 would otherwise
//      miss v2's backward kernels;
//   3. CUDA, bf16 inputs, or f32 under bf16 autocast: a version with native
//      bf16 launchers (v2) if one takes the call and outranks the f32 road;
//   4. CUDA otherwise: f32 (bf16 converted) or f64 through the kernel
//      registry, f32 on TF32 tensor cores when float32 matmul precision is
//      "high" and the version has them (v2), full f32 otherwise (v1).
#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "ops/autocast.h"
#include "ops/kernel_registry.h"
#include "ops/log_linear_attention/checks.h"
#include "ops/log_linear_attention/cuda/gpu_plan.h"
#include "ops/log_linear_attention/internal.h"
#include "ops/op_checks.h"
#include "ops/precision.h"

namespace loglin::lla {
namespace {

std::string describe_call(const Tensor& q, const Tensor& v, const Layout& lay,
                          const LogLinearAttentionOptions& options) {
  std::string s = fmt::format("q {}, v {}, L = {}, chunk {}", shape_str(q.shape()), shape_str(v.shape()), lay.L,
                              lay.C);
  if (options.cu_seqlens().defined()) s += fmt::format(", {} packed sequences", lay.seqs.size());
  if (options.has_initial_state()) s += ", initial state";
  if (options.return_final_state()) s += ", final state";
  return s;
}

// Why a CUDA version runs: the user's choice, or what auto saw.
std::string version_reason(const KernelVersion& v, const KernelCall& c, bool native_bf16, bool converted_bf16) {
  if (!kernels::is_auto(kernel_version_choice(kOpName))) return "chosen by " + kernels::choice_source(kOpName);
  if (native_bf16) return "bf16 on tensor cores (v2 takes this call)";
  if (v.tensor_cores) return "f32 on TF32 tensor cores (float32 matmul precision high)";
  std::string why;
  if (converted_bf16) why = "no tensor-core version takes this bf16 call, so it computes in f32";
  else if (c.dtype == DType::f64) why = "f64 runs the SIMT kernels";
  else if (!c.allow_tf32) why = "f32 under float32 matmul precision highest runs full-f32 SIMT kernels (high allows TF32)";
  else why = "no tensor-core version takes this f32 call";
  if (c.state_in) why += "; v2 takes no initial state";
  else if (c.state_out && c.backward) why += "; v2 takes a final state only without a gradient";
  return why;
}

}  // namespace

bool wants_grad(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls,
                const LogLinearState* st) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : {&q, &k, &v, &g, &ls})
    if (t->requires_grad()) return true;
  return st && st->levels.defined() && st->levels.requires_grad();
}

namespace {

enum class Need { any_version, tensor_cores };

Plan plan_for(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
              const LogLinearAttentionOptions& options, bool wants_backward, bool allow_head_split, Need need) {
  check_defined(kOpName, {&q, &k, &v, &g, &level_scales});
  const LogLinearState* st = options.has_initial_state() ? &options.initial_state() : nullptr;
  Plan p;
  p.layout = check_inputs(q, k, v, g, level_scales, options.cu_seqlens(), options.chunk_size(), st, /*bf16_ok=*/true);
  p.backward = wants_backward;
  KernelPlan& kp = p.kernel;
  kp.op = kOpName;
  kp.call = describe_call(q, v, p.layout, options);
  kp.device = q.device();
  kp.input_dtype = q.dtype();
  const bool bf16_in = q.dtype() == DType::bf16;

  if (!on_cuda(q)) {  // 1.
    if (need == Need::tensor_cores) return p;
    kp.version = "cpu";
    kp.compute_dtype = bf16_in ? DType::f32 : q.dtype();
    kp.reason = bf16_in ? "the chunked CPU code; bf16 is storage only on the CPU, so it computes in f32"
                        : "the chunked CPU code";
    return p;
  }

  if (allow_head_split) {  // 2.
    p.split = head_split_for(q, v, g, level_scales, options, wants_backward);
    if (p.split != HeadSplit::none) {
      kp.split = describe(p.split, p.layout.K, p.layout.V);
      kp.version = "v2";
      kp.autocast = q.dtype() == DType::f32 && autocast_dtype() == DType::bf16;
      kp.tf32 = q.dtype() == DType::f32 && !kp.autocast;
      kp.compute_dtype = kp.tf32 ? DType::f32 : DType::bf16;
      kp.reason = "each piece runs on tensor cores, forward and backward";
      return p;
    }
  }

  const GpuProblem prob = problem_of(p.layout, q.device());
  KernelCall call{q.dtype(), st != nullptr, options.return_final_state(), false};
  call.backward = wants_backward;
  const bool autocast = q.dtype() == DType::f32 && autocast_dtype() == DType::bf16;
  if (bf16_in || autocast) {  // 3.
    if (const KernelVersion* ver = select_native_bf16_version(prob, call)) {
      call.dtype = DType::bf16;
      p.version = ver;
      p.call = call;
      kp.version = ver->name;
      kp.compute_dtype = DType::bf16;
      kp.autocast = autocast;
      kp.reason = version_reason(*ver, call, /*native_bf16=*/true, false);
      return p;
    }
  }
  // 4.
  call.dtype = bf16_in ? DType::f32 : q.dtype();
  call.allow_tf32 = call.dtype == DType::f32 && float32_matmul_allows_tf32();
  if (need == Need::tensor_cores) {
    const KernelVersion* v = version_taking(prob, call);
    if (!v || !v->tensor_cores || !call.allow_tf32) return p;  // no tensor-core road: version stays null
  }
  const KernelVersion& ver = select_kernel_version(prob, call);
  p.version = &ver;
  p.call = call;
  kp.version = ver.name;
  kp.compute_dtype = call.dtype;
  kp.tf32 = call.allow_tf32 && ver.tensor_cores;
  kp.reason = version_reason(ver, call, false, bf16_in);
  return p;
}

}  // namespace

Plan make_plan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
               const LogLinearAttentionOptions& options, bool wants_backward, bool allow_head_split) {
  return plan_for(q, k, v, g, level_scales, options, wants_backward, allow_head_split, Need::any_version);
}

Plan tensor_core_plan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                      const LogLinearAttentionOptions& options, bool wants_backward) {
  return plan_for(q, k, v, g, level_scales, options, wants_backward, false, Need::tensor_cores);
}

}  // namespace loglin::lla

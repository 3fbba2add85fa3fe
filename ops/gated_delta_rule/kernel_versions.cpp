// The registry of the gated delta rule's CUDA versions and the dispatcher
// (kernel_versions.h). Each version is one entry of the list in
// gated_delta_rule_versions().
#include "ops/gated_delta_rule/kernel_versions.h"

#include <algorithm>

#include <fmt/format.h>

#include "ops/kernel_registry.h"
#if LOGLIN_WITH_CUDA
#include "ops/gated_delta_rule/cuda_v1/gated_delta_rule_v1.h"
#include "ops/gated_delta_rule/cuda_v2/gated_delta_rule_v2.h"
#endif

namespace loglin::gdr {
namespace {

#if LOGLIN_WITH_CUDA
// ---- v1: the per-level token recurrence (cuda_v1/) ----

bool v1_supports(const GpuProblem& p, const KernelCall&) { return p.L <= v1::kMaxLevels; }

size_t v1_workspace_bytes(const GpuProblem& p, const KernelCall& c, Pass pass) {
  return v1::workspace_bytes(p, c.dtype == DType::f64 ? sizeof(double) : sizeof(float), pass == Pass::backward);
}

KernelVersion v1_simple() {
  KernelVersion v;
  v.name = "v1";
  v.about = "simple: the per-level token recurrence, threads over V columns, backward from checkpoints "
            "(f32, f64; bf16 via f32; every problem)";
  v.rank = 1;
  // In auto since its [cuda] tests (tests/ops/test_gated_delta_rule_cuda.cpp)
  // passed on an H100, under compute-sanitizer memcheck (2026-12-07).
  v.in_auto = true;
  v.supports = v1_supports;
  v.workspace_bytes = v1_workspace_bytes;
  v.forward_f32 = v1::forward<float>;
  v.forward_f64 = v1::forward<double>;
  v.backward_f32 = v1::backward<float>;
  v.backward_f64 = v1::backward<double>;
  return v;
}

// ---- v2: the chunked WY form on TF32 tensor cores (cuda_v2/), backward v1's ----

bool v2_supports(const GpuProblem& p, const KernelCall& c) {
  return c.dtype == DType::f32 && c.allow_tf32 && v2::shape_supported(p);
}

size_t v2_workspace_bytes(const GpuProblem& p, const KernelCall& c, Pass pass) {
  if (pass == Pass::forward) return v2::forward_workspace_bytes(p, c.state_out);
  return p.log_linear ? v1::workspace_bytes(p, sizeof(float), true) : v2::backward_workspace_bytes(p);
}

// The plain form's chunked backward; the log-linear form's is v1's.
void v2_backward(const GpuProblem& p, const GpuBackward<float>& b, void* ws) {
  if (p.log_linear) v1::backward<float>(p, b, ws);
  else v2::backward(p, b, ws);
}

KernelVersion v2_chunked() {
  KernelVersion v;
  v.name = "v2";
  v.about = "chunked WY form on TF32 tensor cores (forward; the plain form's backward; the log-linear "
            "backward is v1's); f32 under precision high, bf16 via f32; K a multiple of 16, V of 64";
  v.rank = 2;
  // In auto since its [cuda] tests (tests/ops/test_gated_delta_rule_cuda.cpp,
  // tests/ops/test_kernel_versions_cuda.cpp) passed on an H100, the varlen
  // and state cases under compute-sanitizer memcheck and racecheck
  // (2026-12-08).
  v.in_auto = true;
  v.tensor_cores = true;
  v.supports = v2_supports;
  v.workspace_bytes = v2_workspace_bytes;
  v.forward_f32 = v2::forward;
  v.backward_f32 = v2_backward;
  return v;
}
#endif

}  // namespace

bool KernelVersion::takes(const GpuProblem& p, const KernelCall& c) const {
  bool has = false;
  switch (c.dtype) {
    case DType::f32: has = forward_f32 && backward_f32; break;
    case DType::f64: has = forward_f64 && backward_f64; break;
    default: has = false;
  }
  return has && (!supports || supports(p, c));
}

const std::vector<KernelVersion>& gated_delta_rule_versions() {
  static const std::vector<KernelVersion> all = [] {
    std::vector<KernelVersion> v = {
#if LOGLIN_WITH_CUDA
        v1_simple(),  // register a new version here, one line each
        v2_chunked(),
#endif
    };
    std::stable_sort(v.begin(), v.end(), [](const KernelVersion& a, const KernelVersion& b) { return a.rank > b.rank; });
    return v;
  }();
  return all;
}

std::string describe(const GpuProblem& p, const KernelCall& c) {
  const char* math = c.dtype != DType::f32 ? ""
                     : c.allow_tf32       ? ", TF32 allowed"
                                          : ", TF32 not allowed (float32 matmul precision highest)";
  return fmt::format("{} form, {} inputs, K = {}, V = {}, G = {}, H = {}{}{}{}{}",
                     c.log_linear ? "log-linear" : "plain", dtype_name(c.dtype), p.K, p.V, p.G, p.H,
                     c.log_linear ? fmt::format(", L = {}", p.L) : std::string(), c.state_in ? ", initial state" : "",
                     c.state_out ? (c.backward ? ", final state with gradient" : ", final state") : "", math);
}

const KernelVersion* version_taking(const GpuProblem& p, const KernelCall& c) {
  return kernels::version_taking(kVersionsOp, gated_delta_rule_versions(),
                                 [&](const KernelVersion& v) { return v.takes(p, c); });
}

const KernelVersion& select_version(const GpuProblem& p, const KernelCall& c) {
  return kernels::select_version(
      kVersionsOp, gated_delta_rule_versions(), [&](const KernelVersion& v) { return v.takes(p, c); }, describe(p, c));
}

}  // namespace loglin::gdr

// The CUDA implementations of log_linear_attention, side by side, and the one
// dispatcher that picks between them (llm.c's numbered kernel versions, kept
// in the library rather than pasted). Plain C++17 (no CUDA types, no
// Tensor): the plan (plan.cpp), the tests and the benchmark include it.
//
// Versions:
//   v1  simple: the SIMT port of the chunked CPU code
//       (cuda_v1/log_linear_attention_v1.{h,cu}); f32 and f64; bf16 inputs are
//       converted to f32 by the entry point. Every problem, states included.
//       The reference the fast versions are tested against.
//   v2  tensor cores (cuda_v2/: v2_forward_cuda, v2_backward_cuda; KERNELS_PLAN.md):
//       bf16 q, k, v, level_scales with f32 g on bf16 mma; K, V in
//       {32, 64, 128, 256} (backward kernels for K, V <= 128; 256 runs v1's
//       backward on f32 copies), chunk 64, any G | H, any T up to 2^22
//       positions, cu_seqlens, no initial state. f32 inputs on TF32 mma (the same
//       kernels on f32 tiles) when the call allows TF32, K, V in
//       {32, 64, 128} (the backward runs v1 where its tiles do not fit:
//       K = V = 128, or K = 64, V = 128; the op's entry trains those as V
//       panels of 64 instead, head_split.h). A final state only without a
//       backward (prefill for decoding); no initial state. In auto: it
//       takes every bf16 call, and every f32 call allowing TF32, that it
//       supports.
//
// Choosing one: the project's kernel registry (ops/kernel_registry.h) under
// the op name log_linear_attention:
//   - LOGLIN_KERNELS=log_linear_attention=auto (or unset): the highest-ranked
//     version with in_auto that supports the call (dtype, K, V, chunk,
//     states; see supports());
//   - LOGLIN_KERNELS=log_linear_attention=<name>: that version; a call it
//     does not support is a clear error, never a silent fall-back;
//   - set_kernel_version("log_linear_attention", "<name>" or "auto") from C++
//     (tests, benchmarks), or a KernelVersionScope.
// The forward's version also runs that call's backward. The plan
// (plan.cpp) makes the choice and says why.
//
// Adding a version (v3): write its launchers in a folder cuda_v3/ with the
// signatures of KernelVersion below, define its KernelVersion in
// kernel_versions.cpp as v1_simple() and v2_tensor_core() are, and add that
// one call to the list in kernel_versions().
// tests/ops/test_log_linear_attention_cuda_matrix.cpp then runs the whole
// test matrix on it, and bench/loglinear_cuda.cpp times it.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla {

// What the entry point knows about a call beyond the problem tables.
struct KernelCall {
  // dtype of q, k, v, level_scales (and o, dq, dk, dv, dlevel_scales): f32,
  // f64, or bf16 for a version with native bf16 launchers (g, states and
  // their gradients are then f32).
  DType dtype = DType::f32;
  bool state_in = false;   // an initial state is given
  bool state_out = false;  // the final state is wanted (forward) / has a gradient (backward)
  bool dstate_in = false;  // backward: the initial state's gradient is wanted
  bool allow_tf32 = false; // f32 inputs may run on TF32 tensor cores (float32 matmul precision "high")
  bool backward = true;    // a gradient may be asked for (false: grad mode off or no input requires grad)
};

enum class Pass { forward, backward };

template <class T, class A>
using ForwardFn = void (*)(const GpuProblem&, const GpuForward<T, A>&, void* workspace);
template <class T, class A>
using BackwardFn = void (*)(const GpuProblem&, const GpuBackward<T, A>&, void* workspace);

// One implementation. The entry point fills inputs and outputs of the
// GpuForward / GpuBackward; workspace fields (Gd, nodes, prefix, dq_head,
// dk_head, dnodes, dscratch) are the version's business: it gets one device
// buffer of workspace_bytes(p, call, pass) bytes, 256-byte aligned, and
// carves what it needs from it. A null launcher means "this dtype is not
// supported"; supports() may refuse more (head dims, chunk size, ...).
struct KernelVersion {
  const char* name = "";   // "v1": what LOGLIN_KERNELS=log_linear_attention=... and set_kernel_version take
  const char* about = "";  // one line for tables and error messages
  int rank = 0;            // auto picks the highest rank that supports a call
  bool in_auto = true;     // false: only when chosen by name (a version not yet validated on a GPU)
  bool tensor_cores = false;  // f32 calls it takes run on TF32 tensor cores
  // The entry point keeps the forward's workspace until the backward and
  // passes it in GpuBackward::forward_workspace (v2 reuses its tree and G
  // rather than rebuilding them); only while a graph is recorded.
  bool backward_reuses_forward_workspace = false;
  bool (*supports)(const GpuProblem&, const KernelCall&) = nullptr;  // null: everything its launchers take
  size_t (*workspace_bytes)(const GpuProblem&, const KernelCall&, Pass) = nullptr;
  ForwardFn<float, float> forward_f32 = nullptr;
  ForwardFn<double, double> forward_f64 = nullptr;
  ForwardFn<bf16, float> forward_bf16 = nullptr;
  BackwardFn<float, float> backward_f32 = nullptr;
  BackwardFn<double, double> backward_f64 = nullptr;
  BackwardFn<bf16, float> backward_bf16 = nullptr;

  // Has launchers for the call's dtype and supports() agrees.
  bool takes(const GpuProblem& p, const KernelCall& c) const;
};

// Every registered version, best rank first. Empty in builds without CUDA.
const std::vector<KernelVersion>& kernel_versions();
// The version called `name`, or null.
const KernelVersion* find_kernel_version(const std::string& name);

// The version a call runs: the chosen one (an error if it cannot take the
// call), or under auto the best that can. Errors name the op and the call.
const KernelVersion& select_kernel_version(const GpuProblem& p, const KernelCall& c);

// The version a call runs (as select_kernel_version), or null where that
// would be an error: for the plan's other roads.
const KernelVersion* version_taking(const GpuProblem& p, const KernelCall& c);

// With native bf16 launchers: the version a bf16 call would run, or null when
// the choice (auto or named) has none for this call, so that the plan
// converts the inputs to f32 instead (as v1 needs).
const KernelVersion* select_native_bf16_version(const GpuProblem& p, const KernelCall& c);

}  // namespace loglin::lla

// The CUDA implementations of the gated delta rule and its log-linear form,
// side by side, and the one dispatcher that picks between them (llm.c's
// numbered kernel versions, kept in the library). One registry serves both
// entries (gated_delta_rule and log_linear_gated_delta_rule): a version is
// one struct for both forms, and the call says whether level scales are
// present. Plain C++17 (no CUDA types, no Tensor): the plan
// (gated_delta_rule.cpp), the tests and a bench include it.
//
// Versions:
//   v1  simple (cuda_v1/gated_delta_rule_v1.{h,cu}): the per-level token
//       recurrence of SPEC section 2, one block per (sequence, head),
//       threads over the V columns of the state; the backward is its
//       reverse mode from checkpoints. f32 and f64 (bf16 inputs are
//       converted to f32 by the entry); every problem: both forms, any
//       K, V, G | H, cu_seqlens, initial and final states with their
//       gradients. In auto.
//   v2  chunked (cuda_v2/gated_delta_rule_v2.{h,cu}): the WY form of
//       SPEC section 4 with its products on TF32 tensor cores, a parallel
//       kernel for everything local to a chunk and a scan over chunks for
//       the level states; its backward is v1's. f32 calls that allow TF32
//       (float32 matmul precision "high") and bf16 calls (converted to f32
//       by the entry: their inputs are coarser than TF32); K a multiple of
//       16, V a multiple of 64. In auto.
//
// Choosing one: the kernel registry (ops/kernel_registry.h) under the op
// name "gated_delta_rule", for both entries:
//   - LOGLIN_KERNELS=gated_delta_rule=auto (or unset): the highest-ranked
//     version with in_auto that takes the call;
//   - LOGLIN_KERNELS=gated_delta_rule=<name>: that version; a call it does
//     not take is a clear error, never a silent fall-back;
//   - set_kernel_version("gated_delta_rule", ...) or a KernelVersionScope.
// The forward's version also runs that call's backward.
//
// Adding a version (v3): its launchers in cuda_v3/ with the signatures
// below, its KernelVersion defined in kernel_versions.cpp as v1_simple() is,
// and one line in the list of gated_delta_rule_versions().
// tests/ops/test_kernel_versions_cuda.cpp then runs it against the CPU.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "ops/gated_delta_rule/cuda/gdr_cuda.h"

namespace loglin::gdr {

// The registry's op name: both public entries choose under it.
constexpr const char* kVersionsOp = "gated_delta_rule";

// What the entry knows about a call beyond the problem's sizes.
struct KernelCall {
  DType dtype = DType::f32;  // q, k, v, beta, level_scales: f32 or f64 (bf16 is converted to f32 by the entry)
  bool log_linear = false;   // level scales are present
  bool state_in = false;     // an initial state is given
  bool state_out = false;    // the final state is wanted
  bool dstate_in = false;    // backward: the initial state's gradient is wanted
  bool allow_tf32 = false;   // f32 may run on TF32 tensor cores (precision "high", or bf16 inputs converted to f32)
  bool backward = true;      // a gradient may be asked for (grad mode on and an input requires grad)
};

enum class Pass { forward, backward };

template <class T>
using ForwardFn = void (*)(const GpuProblem&, const GpuForward<T>&, void* workspace);
template <class T>
using BackwardFn = void (*)(const GpuProblem&, const GpuBackward<T>&, void* workspace);

// One implementation. The entry fills the GpuForward / GpuBackward and
// gives the version one device buffer of workspace_bytes(p, call, pass)
// bytes (256-byte aligned), which it carves as it likes. A null launcher
// means "this dtype is not taken"; supports() may refuse more.
struct KernelVersion {
  const char* name = "";      // what LOGLIN_KERNELS=gated_delta_rule=... and set_kernel_version take
  const char* about = "";     // one line for tables and error messages
  int rank = 0;               // auto picks the highest rank that takes a call
  bool in_auto = true;        // false: only when chosen by name (a version not yet validated on a GPU)
  bool tensor_cores = false;  // f32 calls it takes run on TF32 tensor cores
  bool (*supports)(const GpuProblem&, const KernelCall&) = nullptr;  // null: everything its launchers take
  size_t (*workspace_bytes)(const GpuProblem&, const KernelCall&, Pass) = nullptr;
  ForwardFn<float> forward_f32 = nullptr;
  ForwardFn<double> forward_f64 = nullptr;
  BackwardFn<float> backward_f32 = nullptr;
  BackwardFn<double> backward_f64 = nullptr;

  // Has launchers for the call's dtype and supports() agrees.
  bool takes(const GpuProblem& p, const KernelCall& c) const;
};

// Every registered version, best rank first. Empty in builds without CUDA.
const std::vector<KernelVersion>& gated_delta_rule_versions();

// The version a call runs: the chosen one (an error if it cannot take the
// call), or under auto the best in_auto version that can (an error if none).
// Errors name the op and the call.
const KernelVersion& select_version(const GpuProblem& p, const KernelCall& c);

// The version a call runs (as select_version), or null where that would be
// an error.
const KernelVersion* version_taking(const GpuProblem& p, const KernelCall& c);

// The call in one line, for plans and errors.
std::string describe(const GpuProblem& p, const KernelCall& c);

}  // namespace loglin::gdr

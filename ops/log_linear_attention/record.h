// Internal to log-linear attention: the one record path that CPU and CUDA
// share. An Implementation runs a forward and a backward on prepared tensors
// (contiguous, in the compute dtypes, without history); run_and_record()
// prepares the inputs, allocates the outputs, runs the forward and records
// the autograd node whose backward allocates the gradients and runs the
// implementation's backward. The CPU's chunked code (cpu/) and each CUDA
// version (cuda_v1/, cuda_v2/, through kernel_versions.h) are such
// implementations.
#pragma once
#include <functional>

#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/log_linear_attention/types.h"

namespace loglin::lla {

// A forward's tensors: q, k [B,T,G,K], v [B,T,H,V], ls [B,T,H,L] and o
// [B,T,H,V] in the compute dtype D; g [B,T,H] and the states [N,H,L,K,V] in
// DA (f32 when D is bf16, else D). state_in and state_out may be undefined.
struct ForwardTensors {
  Tensor q, k, v, g, ls, state_in;
  Tensor o, state_out;
};

// A backward's tensors: the incoming gradients (dstate_out undefined when the
// final state has none) and the gradients to write, allocated by the record
// path in the same dtypes (dstate_in undefined when not wanted).
struct GradTensors {
  Tensor dout, dstate_out;
  Tensor dq, dk, dv, dg, dls, dstate_in;
};

struct Implementation {
  // Writes o (and state_out when defined). Returns what the backward needs
  // from this forward beyond its tensors (v2: its workspace), or undefined.
  std::function<Tensor(const ForwardTensors&)> forward;
  std::function<void(const ForwardTensors&, const Tensor& forward_kept, GradTensors&)> backward;
};

// The chunked CPU code (cpu/chunk_forward_cpu.cpp, cpu/chunk_backward_cpu.cpp).
Implementation cpu_implementation(const Layout& lay);
// A registered CUDA version for a call (an error in builds without CUDA).
Implementation cuda_implementation(const KernelVersion& version, const Layout& lay, const KernelCall& call);

// Runs `impl` on q, k, v, ls (already in the compute dtype D) and g, with the
// initial state `st` (or null), and records the backward: gradients flow to
// q, k, v, g, level_scales and st->levels. o has dtype D; the final state
// (when want_final) dtype DA.
LogLinearAttentionOutput run_and_record(const Implementation& impl, const Layout& lay, DType D, const Tensor& q,
                                        const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                                        const LogLinearState* st, bool want_final);

}  // namespace loglin::lla

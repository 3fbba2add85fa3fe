// Internal to the gated delta rule: the one record path that CPU and CUDA
// share (as log-linear attention's record.h). An Implementation runs a
// forward and a backward on prepared tensors (contiguous, in the compute
// dtype, without history); run_and_record() prepares the inputs, allocates
// the outputs, runs the forward and records the autograd node whose backward
// allocates the gradients and runs the implementation's backward. The
// chunked CPU code (cpu/) and each CUDA version (cuda_v1/, ..., through
// kernel_versions.h) are such implementations.
#pragma once
#include <functional>

#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/gated_delta_rule/kernel_versions.h"
#include "ops/gated_delta_rule/types.h"

namespace loglin::gdr {

// A forward's tensors, all in the compute dtype D (f32 or f64):
// q, k [B,T,G,K]; v, o [B,T,H,V]; g, beta [B,T,H]; ls [B,T,H,L] (undefined:
// the plain form); states [N,H,Ls,K,V] (state_in, state_out may be undefined).
struct ForwardTensors {
  Tensor q, k, v, g, beta, ls, state_in;
  Tensor o, state_out;
};

// A backward's tensors: the incoming gradients (dstate_out undefined when the
// final state has none) and the gradients to write, allocated by the record
// path in D (dls undefined for the plain form, dstate_in when not wanted).
struct GradTensors {
  Tensor dout, dstate_out;
  Tensor dq, dk, dv, dg, dbeta, dls, dstate_in;
};

struct Implementation {
  // Writes o (and state_out when defined). Returns what the backward needs
  // from this forward beyond its tensors (a version's kept workspace), or
  // an undefined tensor.
  std::function<Tensor(const ForwardTensors&)> forward;
  std::function<void(const ForwardTensors&, const Tensor& forward_kept, GradTensors&)> backward;
};

// The chunked CPU code (cpu/chunk_forward_cpu.cpp, cpu/chunk_backward_cpu.cpp).
Implementation cpu_implementation(const lla::Layout& lay);
// A registered CUDA version for a call (an error in builds without CUDA).
Implementation cuda_implementation(const KernelVersion& version, const lla::Layout& lay, const KernelCall& call);

// Runs `impl` on q, k, v, beta, level_scales (already f32 or f64, the
// compute dtype) and g, from the initial state `st` (or null), and records
// the backward under the name `op`: gradients flow to q, k, v, g, beta,
// level_scales and st->levels; the final state's levels (when want_final)
// are a second output.
GatedDeltaRuleOutput run_and_record(const char* op, const Implementation& impl, const lla::Layout& lay,
                                    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                    const Tensor& beta, const Tensor& level_scales, const GatedDeltaState* st,
                                    bool want_final);

}  // namespace loglin::gdr

// Launchers of log_linear_attention's CUDA path (interim SIMT kernels that
// follow the chunked CPU algorithm; ops/log_linear_attention/README.md "GPU path"). Plain
// C++17 declarations, instantiated for float and double in
// log_linear_attention_v1.cu. Everything runs on the device's stream;
// nothing waits for the host.
#pragma once
#include <cstdint>

#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla {

// o (and the final state when f.state_out is set). Workspace: f.Gd, f.nodes
// and, with an initial state, f.prefix.
template <class T>
void log_linear_attention_forward_cuda(const GpuProblem& p, const GpuForward<T>& f);

// Every gradient of BackwardArgs; rebuilds the forward's workspace
// (b.fwd.Gd, nodes, prefix) first. b.dscratch is needed when b.dstate_in is set.
template <class T>
void log_linear_attention_backward_cuda(const GpuProblem& p, const GpuBackward<T>& b);

}  // namespace loglin::lla

// Launchers of scalar_decay_attention's CUDA path (interim SIMT kernels that
// follow scalar_decay_forward_cpu.cpp / scalar_decay_backward_cpu.cpp;
// ops/log_linear_attention/README.md "GPU path"). Plain C++17 declarations, instantiated for
// float and double in scalar_decay_attention_cuda.cu. f.ls is null (lambda
// == 1), there is no state in or out, and f.nodes / b.dnodes hold one K x V
// matrix per chunk job and head.
#pragma once
#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla {

// o. Workspace: f.Gd, f.nodes (the state before each chunk).
template <class T>
void scalar_decay_forward_cuda(const GpuProblem& p, const GpuForward<T>& f);

// dq, dk, dv, dg; rebuilds the forward's workspace first.
template <class T>
void scalar_decay_backward_cuda(const GpuProblem& p, const GpuBackward<T>& b);

}  // namespace loglin::lla

// v2 backward of log_linear_attention (KERNELS_PLAN.md "Backward"): bf16
// tensor cores for bf16 inputs, TF32 ones for f32 inputs (mma.sync, f32
// accumulation); g, dg and every decay in f32.
// Plain C++17 declarations; kernel_versions.cpp carves the workspace and
// registers the launcher as v2's backward.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla::v2 {

// The device buffers the backward carves from its workspace; T is the
// inputs' element type (bf16 or float), which the tree and dU share.
template <class T>
struct BackwardWorkspace {
  double* Gd = nullptr;   // [rows, H] G per row (the forward's)
  T* nodes = nullptr;     // [n_nodes, H, K, V] the forward's tree
  float* dRp = nullptr;   // [n_groups, node_grad_slots, H, K, V] node-gradient pieces
  T* dU = nullptr;        // [n_jobs, H, K, V] gradient of each chunk state
  float* dGrow = nullptr; // [rows, H] do . o - v . dv per row and head
};

// Node-gradient pieces kept per group of 8 aligned chunks: the 4 + 2 + 1
// nodes of levels 0, 1, 2 read inside the group, and one partial per level
// >= 3 (those nodes are read by runs of whole groups).
int64_t node_grad_slots(const GpuProblem& p);

// Head dims with a backward kernel (K, V in {32, 64, 128}, chunk 64) whose
// shared memory fits this device (f32: the TF32 kernels, whose tiles are
// twice as large; K = V = 128 does not fit).
bool backward_shape_ok(int64_t K, int64_t V, int64_t C, int device, bool f32 = false);

// dq, dk, dv, dlevel_scales (bf16) and dg (f32) from the inputs, o and dout;
// no states. 5 launches at any T; G and the tree are read from the
// forward's workspace (ws.Gd, ws.nodes).
void backward_bf16(const GpuProblem& p, const GpuBackward<bf16, float>& b, const BackwardWorkspace<bf16>& ws);
// The same on f32 inputs with TF32 tensor cores.
void backward_f32(const GpuProblem& p, const GpuBackward<float, float>& b, const BackwardWorkspace<float>& ws);

}  // namespace loglin::lla::v2

// v2 of log_linear_attention's CUDA path (KERNELS_PLAN.md): the forward on
// tensor cores with f32 accumulation, for bf16 q, k, v, level_scales, o
// (bf16 mma) or f32 ones (TF32 mma, the same kernels on f32 tiles); g and
// every decay in f32 (G per row in double, differences rounded to f32).
// Plain C++17 declarations (no CUDA types); kernel_versions.cpp registers
// them as version "v2" with the backward of v2_backward_cuda.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla::v2 {

// Whether the v2 forward has a kernel for these head dims (K, V in
// {32, 64, 128, 256}; f32 inputs: {32, 64, 128}, as f32 tiles of 256 do not
// fit in shared memory) and chunk (64).
bool forward_shape_ok(int64_t K, int64_t V, int64_t C, bool f32 = false);
// Compute capability >= 8.0 (mma bf16); cached per device.
bool device_ok(int device);

// The forward: o from q, k, v, g, ls. f.Gd ([rows, H] double) and f.nodes
// (reinterpreted as bf16, [n_nodes, H, K, V]) must point into the
// workspace; no states (state_in, state_out null).
void forward_bf16(const GpuProblem& p, const GpuForward<bf16, float>& f, bf16* nodes);
// The same on f32 inputs with TF32 tensor cores; the nodes are f32.
void forward_f32(const GpuProblem& p, const GpuForward<float, float>& f, float* nodes);

// Element-wise conversions on the device's stream (the backward adapter).
void bf16_to_f32(const bf16* src, float* dst, int64_t n, int device);
void f32_to_bf16(const float* src, bf16* dst, int64_t n, int device);

}  // namespace loglin::lla::v2

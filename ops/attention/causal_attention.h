// Causal softmax attention, fused: softmax(scale * q k^T + causal mask) v
// without materialising the [T, S] score matrix of a head.
#pragma once
#include "core/tensor.h"
#include "ops/plan.h"

namespace loglin {

// q [B, H, T, D]; k, v [B, H, S, D] with S >= T -> [B, H, T, D].
// Query t sits at absolute position S - T + t and sees keys 0..S-T+t, so
// S == T is training and S > T continues a KV cache (T == 1: one decode step).
// f32 and f64 on the CPU and CUDA; bf16 inputs compute in f32 on the CPU and
// on tensor cores (D = 64, 128) on CUDA, as do f32 inputs under bf16 autocast.
// Differentiable in q, k and v. On CUDA, q, k, v (and the incoming gradient)
// are read in place in any strides with a unit stride along D (rows 16-byte
// aligned for the bf16 tensor-core kernels); others are copied first.
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

// causal_attention whose output [B, H, T, D] is a permuted view of a
// contiguous [B, T, H, D] buffer, so y.permute({0, 2, 1, 3}).reshape({B, T,
// H * D}) is free. Same values and gradients.
Tensor causal_attention_bthd(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

// What causal_attention would do with these inputs (checked as the op checks
// them): the implementation (cpu, or the CUDA version of
// causal_attention_versions.h), the compute dtype and why. Runs nothing.
KernelPlan plan_causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

}  // namespace loglin

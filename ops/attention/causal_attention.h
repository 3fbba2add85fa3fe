// Causal softmax attention, fused: softmax(scale * q k^T + causal mask) v
// without materialising the [T, S] score matrix of a head.
#pragma once
#include "core/tensor.h"

namespace loglin {

// q [B, H, T, D]; k, v [B, H, S, D] with S >= T -> [B, H, T, D].
// Query t sits at absolute position S - T + t and sees keys 0..S-T+t, so
// S == T is training and S > T continues a KV cache (T == 1: one decode step).
// f32 and f64 on the CPU and CUDA; bf16 inputs compute in f32 on the CPU and
// on tensor cores (D = 64, 128) on CUDA, as do f32 inputs under bf16 autocast.
// Differentiable in q, k and v.
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale);

}  // namespace loglin

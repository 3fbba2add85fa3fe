// Scalar-decay linear attention (Mamba-2's scan in its "SSD" matrix form):
// log-linear attention (SPEC-log-linear-attention.md) with every level scale
// equal to 1, computed without levels.
//
//   o_t = sum_{s <= t} exp(G_t - G_s) * (q_t . k_s) * v_s,   G_t = g_0 + ... + g_t.
//
// Implementations:
//   - cpu/: the chunked algorithm: per chunk, the intra-chunk masked-decay
//     products plus the queries times one running K x V state per
//     (sequence, head), carried from chunk to chunk by a sequential scan.
//     O(T C (K + V)) work, no range tree. It shares the layout, head views
//     and chunk grid with log_linear_attention (ops/chunk_layout,
//     ops/log_linear_attention/cpu/chunk_cpu.h); that folder's README.md has
//     a section on it.
//   - scalar_decay_attention_cuda.cu: the same scan on CUDA (SIMT).
//   - log-linear attention's tensor-core kernels (v2) with every level scale
//     1, through its internal plan (ops/log_linear_attention/internal.h):
//     f32 inputs under bf16 autocast, or under float32 matmul precision
//     "high" (TF32), when v2 takes the call.
// plan_scalar_decay_attention() says which one a call takes; LOGLIN_EXPLAIN=1
// prints it.
//
// dtypes as log_linear_attention: q, k, v share f32 or f64 (f64 for
// gradcheck); bf16 q, k, v are converted to f32 at the entry
// (differentiably) and o comes back in bf16; g is f32, or f64 with f64
// inputs.
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "ops/plan.h"

namespace loglin {

// Options with chained setters: ScalarDecayOptions().chunk_size(32).cu_seqlens(cu)
class ScalarDecayOptions {
 public:
  // Chunk size C: a power of two (default 64). It changes the rounding, never
  // the answer.
  ScalarDecayOptions& chunk_size(int64_t c) {
    chunk_size_ = c;
    return *this;
  }
  // Packed variable-length batch: B must be 1 and sequence i holds rows
  // [cu[i], cu[i+1]) of the T axis; nothing crosses a sequence start. An
  // integer (i32 or i64) 1-D tensor [N + 1], strictly increasing from 0 to T.
  ScalarDecayOptions& cu_seqlens(Tensor cu) {
    cu_seqlens_ = std::move(cu);
    return *this;
  }

  int64_t chunk_size() const { return chunk_size_; }
  const Tensor& cu_seqlens() const { return cu_seqlens_; }

 private:
  int64_t chunk_size_ = 64;
  Tensor cu_seqlens_;
};

// The op, differentiable in q, k, v and g (hand-written chunked backward).
//   q, k [B, T, G, K]; v [B, T, H, V]; g [B, T, H] with G dividing H (head h
//   reads q/k group h / (H / G)). Returns o [B, T, H, V].
// Equal to log_linear_attention with level_scales all ones (to rounding);
// under bf16 autocast or precision "high" on CUDA it is computed that way,
// on log-linear attention's tensor-core kernels, when one takes the call (K,
// V in {32, 64, 128, 256}, chunk 64); otherwise by the SIMT scan.
Tensor scalar_decay_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                              const ScalarDecayOptions& options = ScalarDecayOptions());

// What scalar_decay_attention would run for these inputs and why. Runs nothing.
KernelPlan plan_scalar_decay_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                       const ScalarDecayOptions& options = ScalarDecayOptions());

}  // namespace loglin

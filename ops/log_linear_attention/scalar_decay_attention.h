// Scalar-decay linear attention (Mamba-2's scan in its "SSD" matrix form):
// log-linear attention (SPEC-log-linear-attention.md) with every level scale
// equal to 1, computed without levels.
//
//   o_t = sum_{s <= t} exp(G_t - G_s) * (q_t . k_s) * v_s,   G_t = g_0 + ... + g_t.
//
// The chunked CPU algorithm (scalar_decay_forward_cpu.cpp,
// scalar_decay_backward_cpu.cpp): per chunk, the intra-chunk masked-decay
// products plus the queries times one running K x V state per (sequence,
// head), carried from chunk to chunk by a sequential scan. O(T C (K + V))
// work, no range tree. It shares the layout, head views and chunk grid of
// chunk_cpu.h with log_linear_attention; README.md in this folder has a
// section on it.
//
// dtypes as log_linear_attention: q, k, v share f32 or f64 (f64 for
// gradcheck); bf16 q, k, v are converted to f32 at the entry
// (differentiably) and o comes back in bf16; g is f32, or f64 with f64
// inputs.
#pragma once
#include <cstdint>

#include "core/tensor.h"

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
// under bf16 autocast on CUDA it is computed that way, on log-linear
// attention's tensor-core kernels, when one takes the call (K, V in {32, 64,
// 128, 256}, chunk 64); otherwise by the SIMT scan of
// scalar_decay_attention_cuda.cu.
Tensor scalar_decay_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                              const ScalarDecayOptions& options = ScalarDecayOptions());

}  // namespace loglin

// ---- internal: the chunked CPU kernels, for scalar_decay_attention.cpp ----
namespace loglin::lla {

struct Layout;  // chunk_cpu.h; L = 0 (no levels), every Seq at position 0

// All tensors contiguous, in the compute type T (g converted to T).
//   q, k (B,T,G,K); v, o (B,T,H,V); g (B,T,H).
template <class T>
struct ScalarDecayArgs {
  const T *q = nullptr, *k = nullptr, *v = nullptr, *g = nullptr;
  T* o = nullptr;  // written by the forward, read by the backward
};

template <class T>
struct ScalarDecayGradArgs {
  ScalarDecayArgs<T> fwd;
  const T* dout = nullptr;         // (B,T,H,V)
  T *dq = nullptr, *dk = nullptr;  // (B,T,G,K)
  T *dv = nullptr, *dg = nullptr;  // (B,T,H,V), (B,T,H)
};

// The causal decay mask of one chunk, shared by the forward and the backward:
// W (n x n, row-major) with W[i, j] = exp(G[i] - G[j]) for j <= i, 0 above
// the diagonal. Differences in double, exps vectorised in T.
template <class T>
void scalar_decay_mask(const double* G, int64_t n, T* W);

template <class T>
void scalar_decay_forward_cpu(const Layout& lay, const ScalarDecayArgs<T>& a);
template <class T>
void scalar_decay_backward_cpu(const Layout& lay, const ScalarDecayGradArgs<T>& a);

}  // namespace loglin::lla

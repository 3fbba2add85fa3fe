// Internal to scalar_decay_attention: the chunked CPU forward and backward
// (scalar_decay_forward_cpu.cpp, scalar_decay_backward_cpu.cpp).
#pragma once
#include <cstdint>

#include "ops/chunk_layout/layout.h"

namespace loglin::lla {

// The layout has L = 0 (no levels) and every Seq at position 0.

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

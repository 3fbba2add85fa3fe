// CPU kernels of causal_attention. All tensors contiguous, one (b, h) head is
// [T, D] (q, o, do, dq) or [S, D] (k, v, dk, dv) at offset bh * rows * D;
// lse is [BH, T]. Query t sees keys 0..S-T+t.
#pragma once
#include <cstdint>

namespace loglin::cpu {

struct AttentionDims {
  int64_t BH = 0, T = 0, S = 0, D = 0;
  double scale = 1.0;
};

// o = softmax(scale q k^T, causal) v; lse[t] = log sum_j exp(scale q_t . k_j).
// Works on blocks of query rows, so at most [block, S] scores live at once.
template <class T>
void causal_attention_fwd(const AttentionDims& d, const T* q, const T* k, const T* v, T* o, T* lse);

// From the saved lse: P is recomputed, delta_t = do_t . o_t, and
//   dS = P * (do v^T - delta);  dq = scale dS k;  dk = scale dS^T q;  dv = P^T do.
template <class T>
void causal_attention_bwd(const AttentionDims& d, const T* q, const T* k, const T* v, const T* o, const T* lse,
                          const T* dout, T* dq, T* dk, T* dv);

}  // namespace loglin::cpu

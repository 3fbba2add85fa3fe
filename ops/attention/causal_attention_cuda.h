// Launch functions of causal_attention on CUDA (plain C++: see ops/CUDA.md).
// All tensors on `device`. q, k, v, dout (and o where it is read or written
// through `AttentionStrides`) are [B, H, rows, D] views: any element strides
// for batch, head and row, stride 1 along D. dq [BH, T, D] and dk, dv
// [BH, S, D] are contiguous; lse and delta [BH, T] in the accumulation type A
// (double for double, float for float and bf16). Query t sees keys 0..S-T+t.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/host_device.h"

namespace loglin::cuda {

template <class T>
using attn_acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

// BH = B * H heads, batch-major (head bh is batch bh / H, head bh % H).
struct AttentionShape {
  int64_t BH = 0, H = 1, T = 0, S = 0, D = 0;
  double scale = 1.0;
};

// Element strides of one [B, H, rows, D] operand: row r of head (b, h)
// starts at b * batch + h * head + r * row, and its D elements are adjacent.
// The stride of a size-1 dim is never taken.
struct AttnStrides {
  int64_t batch = 0, head = 0, row = 0;
};

inline AttnStrides contiguous_strides(int64_t H, int64_t rows, int64_t D) { return {H * rows * D, rows * D, D}; }

// Where head bh of an operand starts.
LOGLIN_HD int64_t head_offset(const AttnStrides& s, int64_t bh, int64_t H) {
  return (bh / H) * s.batch + (bh % H) * s.head;
}

// The layouts of the strided operands, passed by value down to the kernels.
// o: written by the forward, read by the backward's delta.
struct AttentionStrides {
  AttnStrides q, k, v, o, dout;
};

// Whether every row of a [B, H, rows, D] operand at p starts on 16 bytes,
// so the tensor-core kernels may load it in 16-byte vectors.
inline bool rows_aligned16(const void* p, const AttnStrides& s, int64_t B, int64_t H, int64_t rows,
                           int64_t elem_bytes) {
  auto ok = [elem_bytes](int64_t n, int64_t stride) { return n <= 1 || (stride * elem_bytes) % 16 == 0; };
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ok(B, s.batch) && ok(H, s.head) && ok(rows, s.row);
}

// T = float, double, loglin::bf16. Flash-style SIMT forward: o (through
// st.o) and lse, from q, k, v (st.q, st.k, st.v).
template <class T>
void causal_attention_fwd(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v, T* o,
                          attn_acc_t<T>* lse, int device);

// Tensor-core (WMMA bf16, f32 accumulation) forward for D = 64 or 128 on
// sm_80 and newer; the rows of q, k, v 16-byte aligned (rows_aligned16).
// T is loglin::bf16.
bool causal_attention_fwd_tc_supported(int64_t D, int device);
template <class T>
void causal_attention_fwd_tc(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v, T* o,
                             float* lse, int device);

// delta = rowsum(dout * o) per query row (o through st.o, dout through
// st.dout), the correction term of every backward. delta [BH, T].
template <class T>
void causal_attention_delta(const AttentionShape& s, AttentionStrides st, const T* o, const T* dout,
                            attn_acc_t<T>* delta, int device);

// SIMT backward from the saved lse; `delta` is [BH, T] scratch. Writes (does
// not accumulate) dq, dk, dv.
template <class T>
void causal_attention_bwd(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v,
                          const T* o, const attn_acc_t<T>* lse, const T* dout, attn_acc_t<T>* delta, T* dq, T* dk,
                          T* dv, int device);

// Tensor-core (WMMA bf16, f32 accumulation) backward for what the
// tensor-core forward takes (causal_attention_fwd_tc_supported), from its
// f32 lse; `delta` is [BH, T] scratch. The rows of q, k, v, dout 16-byte
// aligned (rows_aligned16). Writes dq, dk, dv in bf16. T is loglin::bf16.
template <class T>
void causal_attention_bwd_tc(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v,
                             const T* o, const float* lse, const T* dout, float* delta, T* dq, T* dk, T* dv,
                             int device);


}  // namespace loglin::cuda

// Launch functions of causal_attention on CUDA (plain C++: see ops/CUDA.md).
// All tensors contiguous on `device`: q, o, dout, dq [BH, T, D]; k, v, dk,
// dv [BH, S, D]; lse and delta [BH, T] in the accumulation type A
// (double for double, float for float and bf16). Query t sees keys 0..S-T+t.
#pragma once
#include <cstdint>
#include <type_traits>

namespace loglin::cuda {

template <class T>
using attn_acc_t = std::conditional_t<std::is_same_v<T, double>, double, float>;

struct AttentionShape {
  int64_t BH = 0, T = 0, S = 0, D = 0;
  double scale = 1.0;
};

// T = float, double, loglin::bf16. Flash-style SIMT forward: o and lse.
template <class T>
void causal_attention_fwd(const AttentionShape& s, const T* q, const T* k, const T* v, T* o, attn_acc_t<T>* lse,
                          int device);

// Tensor-core (WMMA bf16, f32 accumulation) forward for D = 64 or 128 on
// sm_80 and newer;
// q, k, v, o 16-byte aligned. T is loglin::bf16.
bool causal_attention_fwd_tc_supported(int64_t D, int device);
template <class T>
void causal_attention_fwd_tc(const AttentionShape& s, const T* q, const T* k, const T* v, T* o, float* lse,
                             int device);

// delta = rowsum(dout * o) per query row, the correction term of every
// backward. delta [BH, T].
template <class T>
void causal_attention_delta(const AttentionShape& s, const T* o, const T* dout, attn_acc_t<T>* delta, int device);

// SIMT backward from the saved lse; `delta` is [BH, T] scratch. Writes (does
// not accumulate) dq, dk, dv.
template <class T>
void causal_attention_bwd(const AttentionShape& s, const T* q, const T* k, const T* v, const T* o,
                          const attn_acc_t<T>* lse, const T* dout, attn_acc_t<T>* delta, T* dq, T* dk, T* dv,
                          int device);

// Tensor-core (WMMA bf16, f32 accumulation) backward for what the
// tensor-core forward takes (causal_attention_fwd_tc_supported), from its
// f32 lse; `delta` is [BH, T] scratch. q, k, v, dout 16-byte aligned. Writes
// dq, dk, dv in bf16. T is loglin::bf16.
template <class T>
void causal_attention_bwd_tc(const AttentionShape& s, const T* q, const T* k, const T* v, const T* o,
                             const float* lse, const T* dout, float* delta, T* dq, T* dk, T* dv, int device);

// Whether the op's backward takes the tensor-core kernels when its forward
// did (on by default). Off, bf16 runs the SIMT backward: tests compare the two.
void set_causal_attention_tc_backward(bool enabled);
bool causal_attention_tc_backward_enabled();

}  // namespace loglin::cuda

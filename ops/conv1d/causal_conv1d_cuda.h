// CUDA launchers of the depthwise causal conv1d (math in causal_conv1d.h,
// layouts as in causal_conv1d_cpu.h: x, out, dy, dx (B,T,C); the weight
// transposed, wt and dwt (W,C)). Pointers are contiguous device memory of
// `device`. Plain C++ declarations: causal_conv1d_cuda.cu has the kernels,
// instantiated for float and double.
#pragma once
#include <algorithm>
#include <cstdint>

namespace loglin::cuda {

// Chunks of rows (b,t) in the weight-gradient reduction: each sums its rows
// into one [W+1, C] slice of a scratch buffer (dwt, then db), and a second
// kernel adds the slices in chunk order. Depends on the row count only, so
// dwt and db are bitwise the same from run to run.
inline int64_t causal_conv1d_bwd_chunks(int64_t rows) { return std::clamp<int64_t>((rows + 63) / 64, 1, 1024); }

// out[b,t,c] = bias[c] + sum_j wt[j,c] * x[b, t-(W-1)+j, c]; bias may be null.
template <class T>
void causal_conv1d_fwd(const T* x, const T* wt, const T* bias, T* out, int64_t B, int64_t T_, int64_t C, int64_t W,
                       int device);

// dx[b,s,c] = sum_j wt[j,c] * dy[b, s+(W-1)-j, c] over the taps that land before T.
template <class T>
void causal_conv1d_bwd_dx(const T* dy, const T* wt, T* dx, int64_t B, int64_t T_, int64_t C, int64_t W, int device);

// dwt[j,c] = sum_{b,t} dy[b,t,c] * x[b,t-(W-1)+j,c]; db[c] = sum_{b,t} dy[b,t,c].
// Either output may be null. part is scratch of
// [causal_conv1d_bwd_chunks(B*T_), W+1, C].
template <class T>
void causal_conv1d_bwd_dw(const T* dy, const T* x, T* dwt, T* db, T* part, int64_t B, int64_t T_, int64_t C,
                          int64_t W, int device);

}  // namespace loglin::cuda

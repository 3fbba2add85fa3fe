// CUDA launchers of the depthwise causal conv1d (math in causal_conv1d.h,
// the activation in causal_conv1d_math.h, layouts as in causal_conv1d_cpu.h:
// x and dy are B*T rows of C with unit inner stride and row strides ldx,
// ldy (C when contiguous; a narrow()ed view of a wider tensor passes its own
// row stride, no copy); out and dx are contiguous (B,T,C); the weight is
// transposed, wt and dwt (W,C)). Pointers are device memory of `device`.
// Plain C++ declarations: causal_conv1d_cuda.cu has the kernels, instantiated
// for float and double.
#pragma once
#include <algorithm>
#include <cstdint>

#include "ops/conv1d/causal_conv1d_math.h"

namespace loglin::cuda {

// Chunks of rows (b,t) in the weight-gradient reduction: chunk k sums rows
// [k * chunk_rows, (k+1) * chunk_rows) (cut at B*T_) into one [W+1, C] slice
// of a scratch buffer (dwt, then db), and a second kernel adds the slices in
// chunk order. Depends on the row count only, so dwt and db are bitwise the
// same from run to run (and from GPU to GPU).
inline int64_t causal_conv1d_bwd_chunks(int64_t rows) { return std::clamp<int64_t>((rows + 63) / 64, 1, 1024); }
inline int64_t causal_conv1d_bwd_chunk_rows(int64_t rows) {
  const int64_t n = causal_conv1d_bwd_chunks(rows);
  return std::max<int64_t>((rows + n - 1) / n, 1);
}

// The two kernel families (the registry entries of causal_conv1d_versions.h):
// v2 keeps the taps in registers (W <= 8, B*T <= 2^30), v1 takes any size.
enum class ConvKernel { v1, v2 };
bool causal_conv1d_v2_takes(int64_t W, int64_t rows);

// out[b,t,c] = act(bias[c] + sum_j wt[j,c] * x[b, t-(W-1)+j, c]); bias may be null.
template <class T>
void causal_conv1d_fwd(const T* x, int64_t ldx, const T* wt, const T* bias, T* out, int64_t B, int64_t T_,
                       int64_t C, int64_t W, ConvActivation act, ConvKernel kernel, int device);

// With dz = dy * act'(z) (z recomputed from x, wt and bias):
//   dx[b,s,c] = sum_j wt[j,c] * dz[b, s+(W-1)-j, c] over the taps that land before T,
//   dwt[j,c] = sum_{b,t} dz[b,t,c] * x[b,t-(W-1)+j,c];  db[c] = sum_{b,t} dz[b,t,c].
// One pass computes the outputs that are not null; part is scratch of
// [causal_conv1d_bwd_chunks(B*T_), W+1, C], needed when dwt or db is wanted.
template <class T>
void causal_conv1d_bwd(const T* dy, int64_t ldy, const T* x, int64_t ldx, const T* wt, const T* bias, T* dx, T* dwt,
                       T* db, T* part, int64_t B, int64_t T_, int64_t C, int64_t W, ConvActivation act,
                       ConvKernel kernel, int device);

}  // namespace loglin::cuda

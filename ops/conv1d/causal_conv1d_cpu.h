// CPU loops of the depthwise causal conv1d (see causal_conv1d.h for the
// math). x and dy are read as B*T rows of C with unit inner stride, row r at
// x + r * ldx (ldx >= C for a narrow()ed view of a wider tensor, C when
// contiguous); out, dx and the scratch dz are contiguous (B,T,C). The weight
// is taken transposed, wt (W,C), so the inner loop over channels is
// unit-stride; dwt comes back (W,C) too.
// With kSilu the output is silu(z), z = bias + conv(x); the backward first
// recomputes z row by row into dz = dy * silu'(z) (a scratch the caller
// gives), then runs the plain dx and dw loops on dz.
// Rows (b,t) are independent in the forward and in dx; dw and db are
// reductions over rows, summed per fixed chunk of rows and then in chunk
// order, so the result does not depend on the thread count.
// Packed documents: `pos` (null, or one entry per row) gives each row's
// position in its own document, so the window of taps restarts at every
// document start; null means each of the B rows is one sequence of T_
// (position row % T_).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "ops/conv1d/causal_conv1d_math.h"

namespace loglin::cpu {

constexpr int64_t kConvParallelGrain = 1 << 14;

// How many earlier rows the row's sequence (or document) holds before it.
inline int64_t conv_row_pos(const int64_t* pos, int64_t row, int64_t T_) { return pos ? pos[row] : row % T_; }

// o[c] = bias[c] + sum_j wt[j,c] * x[row - (W-1) + j, c] over the taps inside
// the row's sequence (t: the rows of its sequence or document before it).
template <class T>
void causal_conv1d_row_cpu(const T* x, int64_t ldx, const T* wt, const T* bias, T* o, int64_t row, int64_t t,
                           int64_t C, int64_t W) {
  for (int64_t c = 0; c < C; ++c) o[c] = bias ? bias[c] : T(0);
  // Tap j reads x at time t-(W-1)+j, i.e. row - (W-1-j) within the same batch.
  for (int64_t j = std::max<int64_t>(0, W - 1 - t); j < W; ++j) {
    const T* xr = x + (row - (W - 1 - j)) * ldx;
    for (int64_t c = 0; c < C; ++c) o[c] += wt[j * C + c] * xr[c];
  }
}

// out[b,t,c] = act(bias[c] + sum_j wt[j,c] * x[b, t-(W-1)+j, c]); bias may be null.
template <bool kSilu, class T>
void causal_conv1d_fwd_cpu(const T* x, int64_t ldx, const T* wt, const T* bias, T* out, int64_t B, int64_t T_,
                           int64_t C, int64_t W, const int64_t* pos = nullptr) {
#pragma omp parallel for if (B * T_ * C * W > kConvParallelGrain)
  for (int64_t row = 0; row < B * T_; ++row) {
    T* o = out + row * C;
    causal_conv1d_row_cpu(x, ldx, wt, bias, o, row, conv_row_pos(pos, row, T_), C, W);
    if constexpr (kSilu)
      for (int64_t c = 0; c < C; ++c) o[c] = conv_act<true>(o[c]);
  }
}

// dz[b,t,c] = dy[b,t,c] * silu'(z[b,t,c]), z recomputed from x: dz is (B,T,C).
template <class T>
void causal_conv1d_bwd_dz_silu_cpu(const T* dy, int64_t ldy, const T* x, int64_t ldx, const T* wt, const T* bias,
                                   T* dz, int64_t B, int64_t T_, int64_t C, int64_t W,
                                   const int64_t* pos = nullptr) {
#pragma omp parallel for if (B * T_ * C * W > kConvParallelGrain)
  for (int64_t row = 0; row < B * T_; ++row) {
    T* d = dz + row * C;
    causal_conv1d_row_cpu(x, ldx, wt, bias, d, row, conv_row_pos(pos, row, T_), C, W);  // z
    const T* g = dy + row * ldy;
    for (int64_t c = 0; c < C; ++c) d[c] = conv_act_grad<true>(d[c], g[c]);
  }
}

// dx[b,s,c] = sum_j wt[j,c] * dz[b, s+(W-1)-j, c] over the taps that land
// before T (and, packed, inside the same document: the row `shift` later is
// `shift` positions further into its document only when no document starts
// in between).
template <class T>
void causal_conv1d_bwd_dx_cpu(const T* dz, int64_t ldz, const T* wt, T* dx, int64_t B, int64_t T_, int64_t C,
                              int64_t W, const int64_t* pos = nullptr) {
  const int64_t rows = B * T_;
#pragma omp parallel for if (B * T_ * C * W > kConvParallelGrain)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t s = conv_row_pos(pos, row, T_);
    T* d = dx + row * C;
    for (int64_t c = 0; c < C; ++c) d[c] = T(0);
    for (int64_t j = 0; j < W; ++j) {
      const int64_t shift = W - 1 - j;
      if (row + shift >= rows || conv_row_pos(pos, row + shift, T_) != s + shift) continue;
      const T* gr = dz + (row + shift) * ldz;
      for (int64_t c = 0; c < C; ++c) d[c] += wt[j * C + c] * gr[c];
    }
  }
}

// dwt[j,c] = sum_{b,t} dz[b,t,c] * x[b,t-(W-1)+j,c]; db[c] = sum_{b,t} dz[b,t,c].
// Either output may be null.
template <class T>
void causal_conv1d_bwd_dw_cpu(const T* dz, int64_t ldz, const T* x, int64_t ldx, T* dwt, T* db, int64_t B,
                              int64_t T_, int64_t C, int64_t W, const int64_t* pos = nullptr) {
  const int64_t rows = B * T_;
  const int64_t chunks = std::clamp<int64_t>(rows, 1, 16);
  const int64_t per = (rows + chunks - 1) / chunks;
  const int64_t width = C * W + C;  // dwt then db, accumulated in double
  std::vector<double> part(chunks * width, 0.0);
#pragma omp parallel for if (rows * C * W > kConvParallelGrain)
  for (int64_t k = 0; k < chunks; ++k) {
    double* pw = part.data() + k * width;
    double* pb = pw + C * W;
    for (int64_t row = k * per; row < std::min(rows, (k + 1) * per); ++row) {
      const int64_t t = conv_row_pos(pos, row, T_);
      const T* gr = dz + row * ldz;
      for (int64_t c = 0; c < C; ++c) pb[c] += gr[c];
      for (int64_t j = std::max<int64_t>(0, W - 1 - t); j < W; ++j) {
        const T* xr = x + (row - (W - 1 - j)) * ldx;
        for (int64_t c = 0; c < C; ++c) pw[j * C + c] += static_cast<double>(gr[c]) * xr[c];
      }
    }
  }
  for (int64_t i = 0; i < C * W; ++i) {
    double s = 0;
    for (int64_t k = 0; k < chunks; ++k) s += part[k * width + i];
    if (dwt) dwt[i] = static_cast<T>(s);
  }
  for (int64_t c = 0; c < C; ++c) {
    double s = 0;
    for (int64_t k = 0; k < chunks; ++k) s += part[k * width + C * W + c];
    if (db) db[c] = static_cast<T>(s);
  }
}

}  // namespace loglin::cpu

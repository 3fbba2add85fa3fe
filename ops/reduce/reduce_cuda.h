// CUDA launchers for sum / mean / max (ops/reduce/reduce.cpp unpacks the
// tensors). Inputs are contiguous; sums accumulate in T (f32 in f32, f64 in
// f64) in a fixed order, so results are deterministic.
#pragma once
#include <cstdint>

namespace loglin::cuda {

// x is [rows, cols]; out[r] = scale * sum_c x[r, c]. Long rows with few of
// them (a full reduction) are split into chunks summed in a second pass.
template <class T>
void sum_rows(const T* x, T* out, int64_t rows, int64_t cols, double scale, int device);

// x is [outer, R, inner]; out[o, i] = scale * sum_r x[o, r, i] (the leading
// or middle dims reduced, e.g. a bias gradient [B*T, C] -> [C]). R is split
// into segments whose partial sums a second pass adds up.
template <class T>
void sum_middle(const T* x, T* out, int64_t outer, int64_t R, int64_t inner, double scale, int device);

// out[i] = x[i] * T(s) over n contiguous elements: mean's backward, rounded
// as mul(x, s) rounds it.
template <class T>
void scale(const T* x, T* out, int64_t n, double s, int device);

// x is [rows, cols] with cols > 0; out[r] = max_c x[r, c] and argmax[r] its
// column: the first NaN if any, else the first maximal element (as the CPU).
template <class T>
void max_rows(const T* x, T* out, int64_t* argmax, int64_t rows, int64_t cols, int device);

// dx is a zeroed [rows, cols]; dx[r, argmax[r]] = g[r].
template <class T>
void max_rows_backward(const T* g, const int64_t* argmax, T* dx, int64_t rows, int64_t cols, int device);

}  // namespace loglin::cuda

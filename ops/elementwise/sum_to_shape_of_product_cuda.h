// CUDA launcher for sum_to_shape_of_product's fused part (see
// ops/elementwise/sum_to_shape_of_product.cpp): the dot product of g and a over
// each row's trailing block, without writing the product g * a.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/strided_layout.h"

namespace loglin::cuda {

// What row_dot accumulates in and writes: f32 for f32 and bf16, f64 for f64.
// bf16 rows are written in f32 so the leading-dim sums that may follow run
// in f32 too (and the sum ops take no bf16).
template <class T> struct row_dot_acc { using type = T; };
template <> struct row_dot_acc<bf16> { using type = float; };
template <class T> using row_dot_acc_t = typename row_dot_acc<T>::type;

// g and a are [rows, inner]: row r of g starts at g + offset(r, g_rows) and
// its inner elements are contiguous (stride 1); likewise a. g_rows and
// a_rows share one row shape (merged_layouts of the row dims).
// out[r] = sum_c g[r, c] * a[r, c], out contiguous [rows].
// T = float, double, loglin::bf16.
template <class T>
void row_dot(const T* g, const StridedLayout& g_rows, const T* a, const StridedLayout& a_rows, row_dot_acc_t<T>* out,
             int64_t rows, int64_t inner, int device);

}  // namespace loglin::cuda

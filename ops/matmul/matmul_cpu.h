// C = A @ B for one matrix triple, each given as (pointer, rows, cols, row
// stride, col stride) in elements. Row-major or column-major operands map
// straight into Eigen; other strides are copied first.
#pragma once
#include <cstdint>

namespace loglin::cpu {

template <class T>
struct MatrixRef {
  T* data;
  int64_t rows, cols;
  int64_t row_stride, col_stride;
};

template <class T>
void gemm(MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c);

}  // namespace loglin::cpu

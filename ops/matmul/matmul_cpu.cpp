#include "ops/matmul/matmul_cpu.h"

#include <Eigen/Core>
#include <vector>

namespace loglin::cpu {
namespace {

template <class T, int Order>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>;

template <class T, int Order>
auto map_const(const MatrixRef<const T>& m) {
  int64_t outer = Order == Eigen::RowMajor ? m.row_stride : m.col_stride;
  return Eigen::Map<const Mat<T, Order>, Eigen::Unaligned, Eigen::OuterStride<>>(m.data, m.rows, m.cols,
                                                                                  Eigen::OuterStride<>(outer));
}

template <class T>
bool row_major(const MatrixRef<const T>& m) {
  return m.col_stride == 1 && m.row_stride >= m.cols;
}
template <class T>
bool col_major(const MatrixRef<const T>& m) {
  return m.row_stride == 1 && m.col_stride >= m.rows;
}

template <class T, class AMap, class BMap>
void product_into(const AMap& a, const BMap& b, const MatrixRef<T>& c) {
  Eigen::Map<Mat<T, Eigen::RowMajor>, Eigen::Unaligned, Eigen::OuterStride<>> cm(c.data, c.rows, c.cols,
                                                                                  Eigen::OuterStride<>(c.row_stride));
  cm.noalias() = a * b;
}

template <class T, class AMap>
void with_b(const AMap& am, const MatrixRef<const T>& b, const MatrixRef<T>& c) {
  if (col_major(b) && !row_major(b)) {
    product_into<T>(am, map_const<T, Eigen::ColMajor>(b), c);
  } else {
    product_into<T>(am, map_const<T, Eigen::RowMajor>(b), c);
  }
}

// Copies a strided matrix into a packed row-major buffer.
template <class T>
MatrixRef<const T> packed(const MatrixRef<const T>& m, std::vector<T>& buf) {
  buf.resize(static_cast<size_t>(m.rows * m.cols));
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t j = 0; j < m.cols; ++j) buf[i * m.cols + j] = m.data[i * m.row_stride + j * m.col_stride];
  return {buf.data(), m.rows, m.cols, m.cols, 1};
}

}  // namespace

template <class T>
void gemm(MatrixRef<const T> a, MatrixRef<const T> b, MatrixRef<T> c) {
  std::vector<T> abuf, bbuf;
  if (!row_major(a) && !col_major(a)) a = packed(a, abuf);
  if (!row_major(b) && !col_major(b)) b = packed(b, bbuf);
  if (col_major(a) && !row_major(a)) {
    with_b<T>(map_const<T, Eigen::ColMajor>(a), b, c);
  } else {
    with_b<T>(map_const<T, Eigen::RowMajor>(a), b, c);
  }
}

template void gemm<float>(MatrixRef<const float>, MatrixRef<const float>, MatrixRef<float>);
template void gemm<double>(MatrixRef<const double>, MatrixRef<const double>, MatrixRef<double>);

}  // namespace loglin::cpu

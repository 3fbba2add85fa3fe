// sum_to_shape_of_product(g, a, shape) = sum_to_shape(mul(g, a), shape), with
// the trailing summed dims fused into the product: mul's backward for a
// broadcast operand (x [B,T,H,P] * s [B,T,H,1] or [H,1]) then reads g and x
// once instead of writing the full-size product and reducing it again.
//
// Fast path: g and a of one shape, dtype and device, `shape` (aligned right)
// 1 on a trailing run of dims where g is not, and that inner block
// contiguous in both (the rows may be strided, as a split() view is). Then
// row_sums[r] = sum over row r's inner block of g * a, a tensor inner times
// smaller than g, which sum_to_shape takes down to `shape` when leading or
// middle dims are summed too. Anything else goes through the composite.
#include "ops/elementwise/sum_to_shape_of_product.h"

#include <optional>

#include "core/dispatch.h"
#include "core/strided_layout.h"
#include "ops/elementwise/binary.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"
#if LOGLIN_WITH_CUDA
#include "ops/elementwise/sum_to_shape_of_product_cuda.h"
#endif

namespace loglin {
namespace {

constexpr const char* kOp = "sum_to_shape_of_product";

// g as [rows, inner]: dims `first`.. are the inner block; the row dims keep
// each operand's strides (merged_layouts over the row shape).
struct RowDotPlan {
  int64_t rows = 1, inner = 1;
  Shape row_sums_shape;  // g's shape with the inner dims set to 1
  StridedLayout g_rows, a_rows;
};

// Whether dims first.. of t are one block with unit stride (size-1 dims have any stride).
bool inner_dense(const Tensor& t, int64_t first) {
  int64_t expect = 1;
  for (int64_t d = t.dim() - 1; d >= first; --d) {
    if (t.shape()[d] == 1) continue;
    if (t.strides()[d] != expect) return false;
    expect *= t.shape()[d];
  }
  return true;
}

std::optional<RowDotPlan> plan_row_dot(const Tensor& g, const Tensor& a, const Shape& shape) {
  if (g.device() != a.device() || g.dtype() != a.dtype() || g.shape() != a.shape() || g.numel() == 0)
    return std::nullopt;
  // bf16 is summed on the device only: on the cpu it is a storage type.
  if (g.dtype() != DType::f32 && g.dtype() != DType::f64 && !(g.dtype() == DType::bf16 && on_cuda(g)))
    return std::nullopt;
  const int64_t nd = g.dim(), lead = nd - static_cast<int64_t>(shape.size());
  // A shape g is no broadcast of goes to the composite, whose error names g's shape.
  if (lead < 0) return std::nullopt;
  for (int64_t d = lead; d < nd; ++d)
    if (shape[d - lead] != 1 && shape[d - lead] != g.shape()[d]) return std::nullopt;
  // The trailing dims that `shape` sums away: absent there, or 1 there.
  RowDotPlan p;
  int64_t first = nd;
  while (first > 0 && (first - 1 < lead || shape[first - 1 - lead] == 1)) p.inner *= g.shape()[--first];
  if (p.inner == 1 || !inner_dense(g, first) || !inner_dense(a, first)) return std::nullopt;
  Shape row_shape, g_strides, a_strides;
  int64_t non_unit = 0;
  for (int64_t d = 0; d < first; ++d) {
    row_shape.push_back(g.shape()[d]);
    g_strides.push_back(g.strides()[d]);
    a_strides.push_back(a.strides()[d]);
    non_unit += g.shape()[d] != 1;
  }
  // merged_layouts fails past kMaxStridedDims dims; such rare tensors take the composite.
  if (non_unit > kMaxStridedDims) return std::nullopt;
  const std::vector<StridedLayout> l = merged_layouts(row_shape, {g_strides, a_strides}, kOp);
  p.g_rows = l[0];
  p.a_rows = l[1];
  p.rows = g.numel() / p.inner;
  p.row_sums_shape = g.shape();
  for (int64_t d = first; d < nd; ++d) p.row_sums_shape[d] = 1;
  return p;
}

// The element offset of row r in a row layout (row-major over its shape).
int64_t row_offset(int64_t r, const StridedLayout& l) {
  int64_t off = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    off += (r % l.shape[d]) * l.strides[d];
    r /= l.shape[d];
  }
  return off;
}

// [rows] dot products shaped p.row_sums_shape, in g's dtype (f32 for bf16).
Tensor row_sums(const Tensor& g, const Tensor& a, const RowDotPlan& p) {
  Tensor out = Tensor::empty(p.row_sums_shape, g.dtype() == DType::bf16 ? DType::f32 : g.dtype(), g.device());
#if LOGLIN_WITH_CUDA
  if (on_cuda(g)) {
    auto run = [&]<class T>() {
      cuda::row_dot<T>(g.data<T>(), p.g_rows, a.data<T>(), p.a_rows, out.data<cuda::row_dot_acc_t<T>>(), p.rows,
                       p.inner, g.device().index);
    };
    if (g.dtype() == DType::bf16) run.template operator()<bf16>();
    else dispatch_float(g, kOp, run);
    return out;
  }
#endif
  dispatch_float(g, kOp, [&]<class T>() {
    const T* gp = g.data<T>();
    const T* ap = a.data<T>();
    T* o = out.data<T>();
    const int64_t rows = p.rows, inner = p.inner;
#pragma omp parallel for if (rows * inner > (1 << 16))
    for (int64_t r = 0; r < rows; ++r) {
      const T* gr = gp + row_offset(r, p.g_rows);
      const T* ar = ap + row_offset(r, p.a_rows);
      double acc = 0;  // as sum's cpu loop: reductions in double
      for (int64_t c = 0; c < inner; ++c) acc += static_cast<double>(gr[c]) * static_cast<double>(ar[c]);
      o[r] = static_cast<T>(acc);
    }
  });
  return out;
}

}  // namespace

Tensor sum_to_shape_of_product(const Tensor& g, const Tensor& a, const Shape& shape) {
  check_defined(kOp, {&g, &a});
  if (std::optional<RowDotPlan> p = plan_row_dot(g, a, shape)) {
    Tensor s = sum_to_shape(row_sums(g, a, *p), shape);
    return s.dtype() == g.dtype() ? s : core::contiguous_copy(s, g.dtype());
  }
  // mul and sum take no bf16: the composite runs in f32 and rounds once.
  if (g.dtype() == DType::bf16 && a.dtype() == DType::bf16)
    return sum_to_shape(mul(g.to(DType::f32), a.to(DType::f32)), shape).to(DType::bf16);
  return sum_to_shape(mul(g, a), shape);
}

}  // namespace loglin

// How ops hand tensors to their CPU loops and CUDA launchers: dense buffers
// of the compute dtype (a copy only where the layout or dtype needs one) and
// optional tensors as null pointers.
#pragma once
#include <optional>

#include "core/tensor.h"

namespace loglin {

// t itself when it is contiguous and of `dtype`, else a contiguous copy in `dtype`.
inline Tensor dense(const Tensor& t, DType dtype) {
  return t.is_contiguous() && t.dtype() == dtype ? t : core::contiguous_copy(t, dtype);
}
inline Tensor dense(const Tensor& t) { return dense(t, t.dtype()); }

// An optional tensor (weight, bias, a skipped gradient) as a kernel argument.
template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// t [..., C] as a kernel reads it, [rows, C] with a row stride: t itself when
// its leading dims collapse into one stride and C has unit stride (a narrow()
// or split() of a wider last dim), else a dense copy (row stride C).
struct RowView {
  Tensor t;
  int64_t stride;
};
inline RowView row_view(const Tensor& t) {
  const int64_t C = t.dim() > 0 ? t.shape().back() : 1;
  const int64_t rows = C > 0 ? t.numel() / C : 0;
  if (std::optional<Shape> st = core::view_strides(t, {rows, C}); st && (C == 1 || (*st)[1] == 1))
    return {t, (*st)[0]};
  return {core::contiguous_copy(t), C};
}

}  // namespace loglin

// Launcher of the selection kernel behind where and masked_fill (forward and
// backward). Plain C++: raw device pointers, layouts, a device.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/strided_layout.h"

namespace loglin::cuda {

// One side of a selection: `data` read through `layout`, or, where data is
// null, the constant `fill` (a masked_fill value, or the zero of a backward).
template <class T>
struct SelectSide {
  const T* data = nullptr;
  StridedLayout layout;
  T fill = T(0);
};

// out[i] = cond[.] != 0 ? a[.] : b[.] over the n elements of a new contiguous
// out. cond (any dtype) and both sides carry their strides over out's shape,
// merged with out's by merged_layouts.
template <class T>
void where_select(T* out, int64_t n, const void* cond, DType cond_dtype, const StridedLayout& cond_layout,
                  const SelectSide<T>& a, const SelectSide<T>& b, const char* name, int device);

}  // namespace loglin::cuda

// Launchers of the one CUDA kernel family every elementwise op runs on, for
// T = float or double and any functor of elementwise_math.h (instantiated
// from its X-macro lists). Plain C++: raw device pointers, sizes, a device.
// `name` is the op's name, for errors.
#pragma once
#include <cstdint>

#include "core/strided_layout.h"
#include "ops/elementwise/elementwise_math.h"

namespace loglin::cuda {

// y[i] = op(x[i]) over n contiguous elements.
template <class T, class Op>
void elementwise_unary(const T* x, T* y, int64_t n, Op op, const char* name, int device);

// dx[i] = op.backward(x[i], y[i], dy[i]) over n contiguous elements.
template <class T, class Op>
void elementwise_unary_backward(const T* x, const T* y, const T* dy, T* dx, int64_t n, Op op, const char* name,
                                int device);

// out[i] = op(a[.], b[.]) over the n elements of a new contiguous out. la and
// lb are a's and b's element strides over out's shape, merged together with
// out's by merged_layouts (stride 0 where an operand broadcasts).
template <class T, class Op>
void elementwise_binary(T* out, const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb, int64_t n,
                        Op op, const char* name, int device);

}  // namespace loglin::cuda

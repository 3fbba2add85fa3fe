// Launcher of the dropout kernel. Plain C++: raw device pointers, a device.
#pragma once
#include <cstdint>

#include "ops/dropout/dropout_math.h"

namespace loglin::cuda {

// out[i] = mask.apply(x[i], i) over n contiguous elements: the forward on x,
// the backward on dy with the same mask.
template <class T>
void dropout_apply(const T* x, T* out, int64_t n, const dropout_rng::Mask& mask, int device);

}  // namespace loglin::cuda

// CUDA launchers of swiglu (math in swiglu_math.h). Pointers are contiguous
// device memory of `device`, n elements each; da or db may be null.
#pragma once
#include <cstdint>

namespace loglin::cuda {

template <class T>
void swiglu_fwd(const T* a, const T* b, T* out, int64_t n, int device);

template <class T>
void swiglu_bwd(const T* a, const T* b, const T* g, T* da, T* db, int64_t n, int device);

}  // namespace loglin::cuda

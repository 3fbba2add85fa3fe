// CUDA launchers for softmax / log_softmax. x, y, dy, dx are contiguous and
// read as [outer, C, inner] with the softmax over C (see softmax_cpu.h).
#pragma once
#include <cstdint>

namespace loglin::cuda {

// y = softmax(x) (log_softmax when `log`), max-subtracted.
template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log, int device);

//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner, bool log, int device);

}  // namespace loglin::cuda

// CPU kernels for softmax and log_softmax. A contiguous tensor is seen as
// [outer, C, inner]: the softmax runs over C, element (o, c, i) sits at
// (o * C + c) * inner + i. inner == 1 (the last dim) takes a row-per-thread
// path; inner > 1 walks C with the inner columns side by side, so the reads
// stay contiguous without a transposing copy.
#pragma once
#include <cstdint>

namespace loglin::cpu {

// y = softmax(x) (log_softmax when `log`), max-subtracted, sums in double.
template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log);

// From the forward output y and its gradient dy:
//   softmax:     dx = y * (dy - sum(dy * y))
//   log_softmax: dx = dy - exp(y) * sum(dy)
template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner, bool log);

}  // namespace loglin::cpu

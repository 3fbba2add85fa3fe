// CUDA launchers for the fused cross-entropy. logits is a contiguous
// [rows, C] matrix, targets a contiguous [rows] vector (i32 or i64). The
// loss and its gradient stay on the device: no host synchronisation.
//
// Targets are not range-checked (that would need a sync): a target outside
// [0, C) that is not ignore_index makes its row's loss NaN, so the mean loss
// is NaN, and its gradient row NaN; nothing is read out of bounds.
#pragma once
#include <cstdint>

namespace loglin::cuda {

// lse[r] = log(sum(exp(logits[r]))) (0 for ignored rows); *loss = mean of
// lse[r] - logits[r, target] over the counted rows (0 when there are none);
// *count = the number of counted rows, as a double, for the backward.
template <class T, class I>
void cross_entropy_fwd(const T* logits, const I* targets, int64_t rows, int64_t C, int64_t ignore_index, double* lse,
                       T* loss, double* count, int device);

// dlogits[r] = (softmax(logits[r]) - onehot(target)) * (*g / *count), the
// softmax rebuilt from lse; zero rows for ignored targets. g is the loss's
// gradient (one element on the device).
template <class T, class I>
void cross_entropy_bwd(const T* logits, const I* targets, const double* lse, const T* g, const double* count,
                       int64_t rows, int64_t C, int64_t ignore_index, T* dlogits, int device);

}  // namespace loglin::cuda

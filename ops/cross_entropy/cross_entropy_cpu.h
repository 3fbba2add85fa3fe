// CPU kernels for the fused cross-entropy. logits is a contiguous [rows, C]
// matrix, targets a contiguous [rows] vector; a row whose target equals
// ignore_index contributes nothing. Targets are range-checked by the caller.
#pragma once
#include <cstdint>

namespace loglin::cpu {

// One pass per row: lse[r] = log(sum(exp(logits[r]))) (max-subtracted, in
// double) and row_loss[r] = lse[r] - logits[r, target]; both 0 for ignored rows.
template <class T, class I>
void cross_entropy_fwd(const T* logits, const I* targets, int64_t rows, int64_t C, int64_t ignore_index, double* lse,
                       double* row_loss);

// dlogits[r] = (softmax(logits[r]) - onehot(target)) * scale, the softmax
// rebuilt from the saved lse; zero rows for ignored targets. scale is the
// loss gradient over the number of counted rows.
template <class T, class I>
void cross_entropy_bwd(const T* logits, const I* targets, const double* lse, int64_t rows, int64_t C,
                       int64_t ignore_index, double scale, T* dlogits);

}  // namespace loglin::cpu

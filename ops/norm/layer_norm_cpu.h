// CPU kernels for LayerNorm over the last dim. x is a contiguous [rows, D]
// matrix; w and b are [D] or null. The forward saves mean[r] and
// rstd[r] = 1 / sqrt(var(x[r]) + eps) (biased variance) for the backward.
#pragma once
#include <cstdint>

namespace loglin::cpu {

// y = (x - mean) * rstd * w + b.
template <class T>
void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps);

// With xhat = (x - mean) * rstd and gw = dy * w:
//   dx = rstd * (gw - mean(gw) - xhat * mean(gw * xhat))   (skipped when dx is null)
//   dw = sum over rows of dy * xhat                         (skipped when dw is null)
//   db = sum over rows of dy                                (skipped when db is null)
// dw and db are summed in double over a fixed split of the rows, so they do
// not depend on the thread count.
template <class T>
void layer_norm_bwd(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx, T* dw, T* db,
                    int64_t rows, int64_t D);

}  // namespace loglin::cpu

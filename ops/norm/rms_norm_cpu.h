// CPU kernels for RMSNorm over the last dim. x is a contiguous [rows, D]
// matrix; w is [D] or null (no scale). rstd[r] = 1 / sqrt(mean(x[r]^2) + eps)
// is saved by the forward for the backward.
#pragma once
#include <cstdint>

namespace loglin::cpu {

// y = x * rstd * w.
template <class T>
void rms_norm_fwd(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t D, double eps);

// With xhat = x * rstd and gw = dy * w:
//   dx = rstd * (gw - xhat * mean(gw * xhat))   (skipped when dx is null)
//   dw = sum over rows of dy * xhat              (skipped when dw is null)
// dw is summed in double over a fixed split of the rows, so it does not
// depend on the thread count.
template <class T>
void rms_norm_bwd(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw, int64_t rows, int64_t D);

}  // namespace loglin::cpu

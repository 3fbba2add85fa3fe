// CPU kernels of the gated RMSNorm (rms_norm_gated.h). x, y, dy, dx, dz are
// contiguous [rows, D]; z is [rows, D] with unit inner stride and row r at
// z + r * z_row_stride; w is [D] or null (no scale). rstd[r] =
// 1 / sqrt(mean(x[r]^2) + eps) is saved by the forward for the backward.
#pragma once
#include <cstdint>

namespace loglin::cpu {

// y = x * rstd * w * silu(z).
template <class T>
void rms_norm_gated_fwd(const T* x, const T* z, int64_t z_row_stride, const T* w, T* y, T* rstd, int64_t rows,
                        int64_t D, double eps);

// With xhat = x * rstd and gw = dy * silu(z) * w (the gradient reaching the
// plain RMSNorm's xhat):
//   dx = rstd * (gw - xhat * mean(gw * xhat))        (skipped when dx is null)
//   dz = dy * xhat * w * silu'(z)                     (skipped when dz is null)
//   dw = sum over rows of dy * silu(z) * xhat         (skipped when dw is null)
// One sweep over the rows; dw is summed in double over a fixed split of the
// rows, so it does not depend on the thread count.
template <class T>
void rms_norm_gated_bwd(const T* x, const T* z, int64_t z_row_stride, const T* w, const T* rstd, const T* dy, T* dx,
                        T* dz, T* dw, int64_t rows, int64_t D);

}  // namespace loglin::cpu

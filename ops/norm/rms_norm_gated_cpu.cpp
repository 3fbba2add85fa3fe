#include "ops/norm/rms_norm_gated_cpu.h"

#include <vector>

#include "ops/norm/norm_cpu_plan.h"
#include "ops/norm/rms_norm_gated_math.h"

namespace loglin::cpu {

using norm::kGrain;

template <class T>
void rms_norm_gated_fwd(const T* x, const T* z, int64_t z_row_stride, const T* w, T* y, T* rstd, int64_t rows,
                        int64_t D, double eps) {
#pragma omp parallel for if (rows * D > kGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * D;
    const T* zr = z + r * z_row_stride;
    T* yr = y + r * D;
    const T rs = norm::row_rstd(xr, D, eps);
    rstd[r] = rs;
    for (int64_t j = 0; j < D; ++j) yr[j] = xr[j] * rs * (w ? w[j] : T(1)) * gate::silu(zr[j]).value;
  }
}

template <class T>
void rms_norm_gated_bwd(const T* x, const T* z, int64_t z_row_stride, const T* w, const T* rstd, const T* dy, T* dx,
                        T* dz, T* dw, int64_t rows, int64_t D) {
  if (!dx && !dz && !dw) return;
  const norm::RowBlocks split(rows);
  const int64_t blocks = split.blocks;
  std::vector<double> dw_part(dw ? static_cast<size_t>(blocks * D) : 0, 0.0);
#pragma omp parallel for if (rows * D > kGrain)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    double* dwp = dw ? dw_part.data() + blk * D : nullptr;
    std::vector<T> gw(dx ? static_cast<size_t>(D) : 0);  // the row's dy * silu(z) * w, for dx's second pass
    for (int64_t r = split.block_begin(blk); r < split.block_begin(blk + 1); ++r) {
      const T* xr = x + r * D;
      const T* zr = z + r * z_row_stride;
      const T* gr = dy + r * D;
      T* dzr = dz ? dz + r * D : nullptr;
      const T rs = rstd[r];
      double dot = 0;  // sum of gw * xhat
      for (int64_t j = 0; j < D; ++j) {
        const gate::Silu<T> g = gate::silu(zr[j]);
        const T xhat = xr[j] * rs;
        const T wj = w ? w[j] : T(1);
        const T gn = gr[j] * g.value;  // the gradient reaching the plain RMSNorm's output
        if (dwp) dwp[j] += static_cast<double>(gn) * xhat;
        if (dzr) dzr[j] = gr[j] * xhat * wj * g.grad;
        if (dx) {
          gw[j] = gn * wj;
          dot += static_cast<double>(gw[j]) * xhat;
        }
      }
      if (!dx) continue;
      const T c = static_cast<T>(dot / static_cast<double>(D));
      T* dxr = dx + r * D;
      for (int64_t j = 0; j < D; ++j) dxr[j] = rs * (gw[j] - xr[j] * rs * c);
    }
  }
  if (dw) norm::sum_block_parts(dw_part, blocks, D, dw);
}

template void rms_norm_gated_fwd<float>(const float*, const float*, int64_t, const float*, float*, float*, int64_t,
                                        int64_t, double);
template void rms_norm_gated_fwd<double>(const double*, const double*, int64_t, const double*, double*, double*,
                                         int64_t, int64_t, double);
template void rms_norm_gated_bwd<float>(const float*, const float*, int64_t, const float*, const float*, const float*,
                                        float*, float*, float*, int64_t, int64_t);
template void rms_norm_gated_bwd<double>(const double*, const double*, int64_t, const double*, const double*,
                                         const double*, double*, double*, double*, int64_t, int64_t);

}  // namespace loglin::cpu

#include "ops/norm/layer_norm_cpu.h"

#include <cmath>
#include <vector>

#include "ops/norm/norm_cpu_plan.h"

namespace loglin::cpu {

using norm::kGrain;

template <class T>
void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps) {
#pragma omp parallel for if (rows * D > kGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * D;
    T* yr = y + r * D;
    // Two passes (mean, then squared deviations): the one-pass E[x^2] - E[x]^2
    // cancels badly when |mean| >> std.
    double s = 0;
    for (int64_t j = 0; j < D; ++j) s += xr[j];
    const double mu = s / static_cast<double>(D);
    double ss = 0;
    for (int64_t j = 0; j < D; ++j) {
      const double d = static_cast<double>(xr[j]) - mu;
      ss += d * d;
    }
    const double rs = 1.0 / std::sqrt(ss / static_cast<double>(D) + eps);
    mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(rs);
    for (int64_t j = 0; j < D; ++j) {
      T v = static_cast<T>((static_cast<double>(xr[j]) - mu) * rs);
      if (w) v *= w[j];
      if (b) v += b[j];
      yr[j] = v;
    }
  }
}

template <class T>
void layer_norm_bwd(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx, T* dw, T* db,
                    int64_t rows, int64_t D) {
  const norm::RowBlocks split(rows);
  const int64_t blocks = split.blocks;
  std::vector<double> dw_part(dw ? static_cast<size_t>(blocks * D) : 0, 0.0);
  std::vector<double> db_part(db ? static_cast<size_t>(blocks * D) : 0, 0.0);
#pragma omp parallel for if (rows * D > kGrain)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    double* dwp = dw ? dw_part.data() + blk * D : nullptr;
    double* dbp = db ? db_part.data() + blk * D : nullptr;
    const int64_t r0 = split.block_begin(blk), r1 = split.block_begin(blk + 1);
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D;
      const T* gr = dy + r * D;
      const T mu = mean[r], rs = rstd[r];
      if (dwp)
        for (int64_t j = 0; j < D; ++j) dwp[j] += static_cast<double>(gr[j]) * ((xr[j] - mu) * rs);
      if (dbp)
        for (int64_t j = 0; j < D; ++j) dbp[j] += gr[j];
      if (!dx) continue;
      double sg = 0, sgx = 0;
      for (int64_t j = 0; j < D; ++j) {
        const double gw = static_cast<double>(gr[j]) * (w ? w[j] : T(1));
        sg += gw;
        sgx += gw * ((xr[j] - mu) * rs);
      }
      const T a = static_cast<T>(sg / static_cast<double>(D));
      const T c = static_cast<T>(sgx / static_cast<double>(D));
      T* dxr = dx + r * D;
      for (int64_t j = 0; j < D; ++j) dxr[j] = rs * (gr[j] * (w ? w[j] : T(1)) - a - (xr[j] - mu) * rs * c);
    }
  }
  if (dw) norm::sum_block_parts(dw_part, blocks, D, dw);
  if (db) norm::sum_block_parts(db_part, blocks, D, db);
}

template void layer_norm_fwd<float>(const float*, const float*, const float*, float*, float*, float*, int64_t, int64_t,
                                    double);
template void layer_norm_fwd<double>(const double*, const double*, const double*, double*, double*, double*, int64_t,
                                     int64_t, double);
template void layer_norm_bwd<float>(const float*, const float*, const float*, const float*, const float*, float*,
                                    float*, float*, int64_t, int64_t);
template void layer_norm_bwd<double>(const double*, const double*, const double*, const double*, const double*, double*,
                                     double*, double*, int64_t, int64_t);

}  // namespace loglin::cpu

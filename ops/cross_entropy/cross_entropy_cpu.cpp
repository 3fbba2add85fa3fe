#include "ops/cross_entropy/cross_entropy_cpu.h"

#include <algorithm>
#include <cmath>

namespace loglin::cpu {
namespace {

// Below this many logits, waking the OpenMP team costs more than it saves.
constexpr int64_t kGrain = 1 << 15;

}  // namespace

template <class T, class I>
void cross_entropy_fwd(const T* logits, const I* targets, int64_t rows, int64_t C, int64_t ignore_index, double* lse,
                       double* row_loss) {
#pragma omp parallel for if (rows * C > kGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = static_cast<int64_t>(targets[r]);
    if (t == ignore_index) {
      lse[r] = 0;
      row_loss[r] = 0;
      continue;
    }
    const T* x = logits + r * C;
    T m = x[0];
    for (int64_t c = 1; c < C; ++c) m = std::max(m, x[c]);
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(x[c] - m);
    // m stays exact in T; adding log(s) in double keeps lse accurate for
    // logits far from 0, where an f32 lse would lose the small terms.
    lse[r] = static_cast<double>(m) + std::log(s);
    row_loss[r] = lse[r] - static_cast<double>(x[t]);
  }
}

template <class T, class I>
void cross_entropy_bwd(const T* logits, const I* targets, const double* lse, int64_t rows, int64_t C,
                       int64_t ignore_index, double scale, T* dlogits) {
#pragma omp parallel for if (rows * C > kGrain)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = static_cast<int64_t>(targets[r]);
    T* dx = dlogits + r * C;
    if (t == ignore_index) {
      std::fill(dx, dx + C, T(0));
      continue;
    }
    const T* x = logits + r * C;
    const double l = lse[r];
    for (int64_t c = 0; c < C; ++c) dx[c] = static_cast<T>(std::exp(static_cast<double>(x[c]) - l) * scale);
    // p - 1 in double: subtracting in T after scaling would cancel when p is near 1.
    dx[t] = static_cast<T>((std::exp(static_cast<double>(x[t]) - l) - 1.0) * scale);
  }
}

#define LOGLIN_CE_INSTANTIATE(T, I)                                                                       \
  template void cross_entropy_fwd<T, I>(const T*, const I*, int64_t, int64_t, int64_t, double*, double*); \
  template void cross_entropy_bwd<T, I>(const T*, const I*, const double*, int64_t, int64_t, int64_t, double, T*);
LOGLIN_CE_INSTANTIATE(float, int32_t)
LOGLIN_CE_INSTANTIATE(float, int64_t)
LOGLIN_CE_INSTANTIATE(double, int32_t)
LOGLIN_CE_INSTANTIATE(double, int64_t)
#undef LOGLIN_CE_INSTANTIATE

}  // namespace loglin::cpu

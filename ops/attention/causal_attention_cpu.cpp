// Blocked CPU causal attention: per (b, h) head, blocks of kBlock query rows
// take their scores against the keys the block can see as one Eigen product,
// so a head never holds more than [kBlock, S] scores. OpenMP over heads.
#include "ops/attention/causal_attention_cpu.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace loglin::cpu {
namespace {

constexpr int64_t kBlock = 64;

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using CMap = Eigen::Map<const RowMat<T>>;
template <class T>
using MMap = Eigen::Map<RowMat<T>>;

// Keys 0..visible(t)-1 are seen by query row t.
inline int64_t visible(const AttentionDims& d, int64_t t) { return d.S - d.T + t + 1; }

}  // namespace

template <class T>
void causal_attention_fwd(const AttentionDims& d, const T* q, const T* k, const T* v, T* o, T* lse) {
  const int64_t T_ = d.T, S = d.S, D = d.D;
#pragma omp parallel for schedule(dynamic, 1) if (d.BH > 1)
  for (int64_t bh = 0; bh < d.BH; ++bh) {
    const T* qh = q + bh * T_ * D;
    CMap<T> kh(k + bh * S * D, S, D), vh(v + bh * S * D, S, D);
    RowMat<T> s;
    for (int64_t t0 = 0; t0 < T_; t0 += kBlock) {
      const int64_t rows = std::min(kBlock, T_ - t0), keys = visible(d, t0 + rows - 1);
      CMap<T> qb(qh + t0 * D, rows, D);
      s.noalias() = (qb * kh.topRows(keys).transpose()) * static_cast<T>(d.scale);
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t n = visible(d, t0 + i);
        T* row = s.data() + i * keys;
        T m = *std::max_element(row, row + n);
        T l = 0;
        for (int64_t j = 0; j < n; ++j) l += (row[j] = std::exp(row[j] - m));
        std::fill(row + n, row + keys, T(0));
        const T inv = T(1) / l;
        for (int64_t j = 0; j < n; ++j) row[j] *= inv;
        lse[bh * T_ + t0 + i] = m + std::log(l);
      }
      MMap<T>(o + (bh * T_ + t0) * D, rows, D).noalias() = s * vh.topRows(keys);
    }
  }
}

template <class T>
void causal_attention_bwd(const AttentionDims& d, const T* q, const T* k, const T* v, const T* o, const T* lse,
                          const T* dout, T* dq, T* dk, T* dv) {
  const int64_t T_ = d.T, S = d.S, D = d.D;
  const T scale = static_cast<T>(d.scale);
#pragma omp parallel for schedule(dynamic, 1) if (d.BH > 1)
  for (int64_t bh = 0; bh < d.BH; ++bh) {
    CMap<T> kh(k + bh * S * D, S, D), vh(v + bh * S * D, S, D);
    MMap<T> dkh(dk + bh * S * D, S, D), dvh(dv + bh * S * D, S, D);
    dkh.setZero();
    dvh.setZero();
    RowMat<T> p, dp;
    for (int64_t t0 = 0; t0 < T_; t0 += kBlock) {
      const int64_t rows = std::min(kBlock, T_ - t0), keys = visible(d, t0 + rows - 1);
      const int64_t off = (bh * T_ + t0) * D;
      CMap<T> qb(q + off, rows, D), ob(o + off, rows, D), dob(dout + off, rows, D);
      p.noalias() = (qb * kh.topRows(keys).transpose()) * scale;
      dp.noalias() = dob * vh.topRows(keys).transpose();
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t n = visible(d, t0 + i);
        const T m = lse[bh * T_ + t0 + i];
        T delta = 0;
        for (int64_t c = 0; c < D; ++c) delta += dob(i, c) * ob(i, c);
        T* pr = p.data() + i * keys;
        T* dsr = dp.data() + i * keys;
        for (int64_t j = 0; j < n; ++j) {
          pr[j] = std::exp(pr[j] - m);
          dsr[j] = pr[j] * (dsr[j] - delta);
        }
        std::fill(pr + n, pr + keys, T(0));
        std::fill(dsr + n, dsr + keys, T(0));
      }
      MMap<T>(dq + off, rows, D).noalias() = (dp * kh.topRows(keys)) * scale;
      dkh.topRows(keys).noalias() += (dp.transpose() * qb) * scale;
      dvh.topRows(keys).noalias() += p.transpose() * dob;
    }
  }
}

template void causal_attention_fwd<float>(const AttentionDims&, const float*, const float*, const float*, float*,
                                          float*);
template void causal_attention_fwd<double>(const AttentionDims&, const double*, const double*, const double*,
                                           double*, double*);
template void causal_attention_bwd<float>(const AttentionDims&, const float*, const float*, const float*,
                                          const float*, const float*, const float*, float*, float*, float*);
template void causal_attention_bwd<double>(const AttentionDims&, const double*, const double*, const double*,
                                           const double*, const double*, const double*, double*, double*,
                                           double*);

}  // namespace loglin::cpu

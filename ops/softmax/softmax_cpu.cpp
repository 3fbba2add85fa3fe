#include "ops/softmax/softmax_cpu.h"

#include <algorithm>
#include <cmath>

namespace loglin::cpu {
namespace {

// Below this many elements, waking the OpenMP team costs more than it saves.
constexpr int64_t kGrain = 1 << 15;
// Inner columns handled together when the softmax dim is not last: wide
// enough for contiguous reads, small enough for the per-column state to stay
// in L1.
constexpr int64_t kTile = 64;

template <class T>
void fwd_row(const T* x, T* y, int64_t C, bool log) {
  T m = x[0];
  for (int64_t c = 1; c < C; ++c) m = std::max(m, x[c]);
  double s = 0;
  if (log) {
    for (int64_t c = 0; c < C; ++c) s += std::exp(x[c] - m);
    const double ls = std::log(s);
    for (int64_t c = 0; c < C; ++c) y[c] = static_cast<T>(static_cast<double>(x[c] - m) - ls);
  } else {
    for (int64_t c = 0; c < C; ++c) {
      T e = std::exp(x[c] - m);
      y[c] = e;
      s += e;
    }
    const T inv = static_cast<T>(1.0 / s);
    for (int64_t c = 0; c < C; ++c) y[c] *= inv;
  }
}

// Columns [i0, i0 + w) of one [C, inner] block; x and y point at the block.
template <class T>
void fwd_tile(const T* x, T* y, int64_t C, int64_t inner, int64_t i0, int64_t w, bool log) {
  T m[kTile];
  double s[kTile];
  for (int64_t j = 0; j < w; ++j) {
    m[j] = x[i0 + j];
    s[j] = 0;
  }
  for (int64_t c = 1; c < C; ++c)
    for (int64_t j = 0; j < w; ++j) m[j] = std::max(m[j], x[c * inner + i0 + j]);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < w; ++j) {
      const int64_t k = c * inner + i0 + j;
      T e = std::exp(x[k] - m[j]);
      if (!log) y[k] = e;
      s[j] += e;
    }
  if (log) {
    for (int64_t j = 0; j < w; ++j) s[j] = std::log(s[j]);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < w; ++j) {
        const int64_t k = c * inner + i0 + j;
        y[k] = static_cast<T>(static_cast<double>(x[k] - m[j]) - s[j]);
      }
  } else {
    for (int64_t j = 0; j < w; ++j) s[j] = 1.0 / s[j];
    for (int64_t c = 0; c < C; ++c)
      for (int64_t j = 0; j < w; ++j) y[c * inner + i0 + j] *= static_cast<T>(s[j]);
  }
}

template <class T>
void bwd_row(const T* y, const T* dy, T* dx, int64_t C, bool log) {
  double s = 0;
  if (log) {
    for (int64_t c = 0; c < C; ++c) s += dy[c];
    const T st = static_cast<T>(s);
    for (int64_t c = 0; c < C; ++c) dx[c] = dy[c] - std::exp(y[c]) * st;
  } else {
    for (int64_t c = 0; c < C; ++c) s += static_cast<double>(dy[c]) * y[c];
    const T st = static_cast<T>(s);
    for (int64_t c = 0; c < C; ++c) dx[c] = y[c] * (dy[c] - st);
  }
}

template <class T>
void bwd_tile(const T* y, const T* dy, T* dx, int64_t C, int64_t inner, int64_t i0, int64_t w, bool log) {
  double s[kTile];
  for (int64_t j = 0; j < w; ++j) s[j] = 0;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < w; ++j) {
      const int64_t k = c * inner + i0 + j;
      s[j] += log ? static_cast<double>(dy[k]) : static_cast<double>(dy[k]) * y[k];
    }
  for (int64_t c = 0; c < C; ++c)
    for (int64_t j = 0; j < w; ++j) {
      const int64_t k = c * inner + i0 + j;
      const T st = static_cast<T>(s[j]);
      dx[k] = log ? dy[k] - std::exp(y[k]) * st : y[k] * (dy[k] - st);
    }
}

// Runs row(o) for every outer index (inner == 1) or tile(o, i0, w) for every
// tile of inner columns, in parallel when the tensor is large.
template <class Row, class Tile>
void for_each_slice(int64_t outer, int64_t C, int64_t inner, Row row, Tile tile) {
  const bool par = outer * C * inner > kGrain;
  if (inner == 1) {
#pragma omp parallel for if (par)
    for (int64_t o = 0; o < outer; ++o) row(o);
    return;
  }
  const int64_t tiles = (inner + kTile - 1) / kTile;
#pragma omp parallel for if (par)
  for (int64_t t = 0; t < outer * tiles; ++t) {
    const int64_t o = t / tiles, i0 = (t % tiles) * kTile;
    tile(o, i0, std::min(kTile, inner - i0));
  }
}

}  // namespace

template <class T>
void softmax_fwd(const T* x, T* y, int64_t outer, int64_t C, int64_t inner, bool log) {
  if (C == 0) return;
  const int64_t block = C * inner;
  for_each_slice(
      outer, C, inner, [&](int64_t o) { fwd_row(x + o * block, y + o * block, C, log); },
      [&](int64_t o, int64_t i0, int64_t w) { fwd_tile(x + o * block, y + o * block, C, inner, i0, w, log); });
}

template <class T>
void softmax_bwd(const T* y, const T* dy, T* dx, int64_t outer, int64_t C, int64_t inner, bool log) {
  if (C == 0) return;
  const int64_t block = C * inner;
  for_each_slice(
      outer, C, inner, [&](int64_t o) { bwd_row(y + o * block, dy + o * block, dx + o * block, C, log); },
      [&](int64_t o, int64_t i0, int64_t w) {
        bwd_tile(y + o * block, dy + o * block, dx + o * block, C, inner, i0, w, log);
      });
}

template void softmax_fwd<float>(const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_fwd<double>(const double*, double*, int64_t, int64_t, int64_t, bool);
template void softmax_bwd<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, bool);
template void softmax_bwd<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, bool);

}  // namespace loglin::cpu

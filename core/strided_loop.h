// Walks N operands that share a shape but not strides (broadcast operands have
// stride 0). The innermost dim is handed to `inner` as a run so the caller's
// loop can vectorise:
//   inner(const std::array<int64_t, N>& offsets, int64_t count, const std::array<int64_t, N>& steps)
// Offsets and steps are in elements.
#pragma once
#include <array>
#include <cstdint>

#include "core/shape.h"

namespace loglin {

template <size_t N, class Inner>
void strided_loop(const Shape& shape, const std::array<const Shape*, N>& strides, Inner&& inner) {
  const int64_t nd = static_cast<int64_t>(shape.size());
  std::array<int64_t, N> offsets{};
  if (nd == 0) {
    std::array<int64_t, N> steps{};
    inner(offsets, 1, steps);
    return;
  }
  for (int64_t d : shape)
    if (d == 0) return;
  std::array<int64_t, N> steps;
  for (size_t k = 0; k < N; ++k) steps[k] = (*strides[k])[nd - 1];
  const int64_t run = shape[nd - 1];
  Shape idx(nd, 0);
  while (true) {
    inner(offsets, run, steps);
    int64_t d = nd - 2;
    for (; d >= 0; --d) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k) offsets[k] += (*strides[k])[d];
      if (idx[d] < shape[d]) break;
      for (size_t k = 0; k < N; ++k) offsets[k] -= (*strides[k])[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace loglin

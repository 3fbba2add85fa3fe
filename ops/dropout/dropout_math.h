// The dropout mask as a counter-based hash: element i's fate depends only on
// (seed, i), so the CPU loop and the CUDA kernel compute any element on its
// own, in any order and any thread, and give bit-identical masks from one
// seed. Plain C++17: nvcc includes this.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace loglin::dropout_rng {

// The i-th output of a splitmix64 stream started at `seed` (the generator
// core/rng.cpp seeds xoshiro with): a bijective 64-bit mix of seed + (i+1) *
// golden ratio, which passes BigCrush as a stream.
LOGLIN_HD uint64_t bits(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// One call's mask. Element i is dropped when its uniform draw u = k / 2^53
// (k the top 53 bits) is below p, tested as k < p * 2^53: k converts to
// double exactly and the product is exact, so both backends decide alike.
struct Mask {
  uint64_t seed;
  double threshold;  // p * 2^53
  double scale;      // 1 / (1 - p); 0 when p == 1, which drops everything anyway

  static Mask make(uint64_t seed, double p) { return {seed, p * 0x1.0p53, p < 1.0 ? 1.0 / (1.0 - p) : 0.0}; }

  LOGLIN_HD bool dropped(uint64_t i) const { return static_cast<double>(bits(seed, i) >> 11) < threshold; }

  // x scaled as the mask says: x * 0 where dropped (so NaN stays NaN, as a
  // multiply by a stored mask would), x * scale where kept.
  template <class T>
  LOGLIN_HD T apply(T x, uint64_t i) const {
    return x * (dropped(i) ? T(0) : static_cast<T>(scale));
  }
};

}  // namespace loglin::dropout_rng

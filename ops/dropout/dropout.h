// Inverted dropout: zeroes each element with probability p and scales the
// rest by 1/(1-p). Identity when !training or p == 0. Each call draws one
// 64-bit seed from `gen` and hashes it with every element's index
// (dropout_math.h), so a seed reproduces the mask, on the CPU and on CUDA
// alike.
#pragma once
#include "core/rng.h"
#include "core/tensor.h"

namespace loglin {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace loglin

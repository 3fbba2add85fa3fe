// Inverted dropout: zeroes each element with probability p and scales the
// rest by 1/(1-p). Identity when !training or p == 0. The mask comes from
// `gen`, so a seed reproduces it.
#pragma once
#include "core/rng.h"
#include "core/tensor.h"

namespace loglin {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen = default_generator());

}  // namespace loglin

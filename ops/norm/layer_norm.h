// LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias.
// weight and bias may each be undefined.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

}  // namespace loglin

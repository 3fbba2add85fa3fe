// RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) * weight.
// weight may be undefined (no scale).
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-5);

}  // namespace loglin

// Gated RMSNorm over the last dim, Mamba-2's output gate, fused:
//   out = x / sqrt(mean(x^2) + eps) * weight * silu(z)
// x and z have one shape [..., D]; weight is [D] or undefined (no scale).
// z may be a strided view (a slice of a wider projection) and is read in
// place when its rows are evenly spaced with unit inner stride.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor rms_norm_gated(const Tensor& x, const Tensor& z, const Tensor& weight, double eps = 1e-5);

}  // namespace loglin

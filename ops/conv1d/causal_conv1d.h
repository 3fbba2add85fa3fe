// Depthwise causal 1-D convolution over time, as in Mamba's short conv:
//   x [B, T, C], weight [C, W], bias [C] (may be undefined)
//   out[b, t, c] = bias[c] + sum_{j<W} weight[c, j] * x[b, t - (W-1) + j, c]
// with x taken as 0 before t = 0.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace loglin

// causal_conv1d built from primitive ops (shifted copies of x, masks,
// products and sums; autograd gives the gradients): the answer key the tests
// hold the fused op to, and what the fused op runs on CUDA for packed
// documents, where its kernels have no document boundaries yet.
//   z[b, t, c] = bias[c] + sum_{j<W} weight[c, j] * x[b, t - (W-1) + j, c]
// over the taps that land inside the row's sequence, or with cu_seqlens
// inside its document; out = act(z).
#pragma once
#include "core/tensor.h"
#include "ops/conv1d/causal_conv1d_math.h"

namespace loglin {

// x [B, T, C] (B = 1 with cu_seqlens), weight [C, W], bias [C] or undefined.
Tensor causal_conv1d_reference(const Tensor& x, const Tensor& weight, const Tensor& bias,
                               ConvActivation activation = ConvActivation::none,
                               const Tensor& cu_seqlens = Tensor());

}  // namespace loglin

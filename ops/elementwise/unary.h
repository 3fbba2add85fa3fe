// Elementwise math and activations. Each is one forward formula and one
// derivative formula (elementwise_math.h), run by the CPU loops and the CUDA
// kernels alike.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor pow(const Tensor& x, double p);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor silu(const Tensor& x);
Tensor gelu(const Tensor& x);      // tanh approximation, as GPT-2 uses
Tensor softplus(const Tensor& x);  // log(1 + exp(x)), overflow-safe

}  // namespace loglin

#include "nn/layers/conv1d.h"

#include <cmath>

#include "ops/ops.h"

namespace loglin::nn {

CausalConv1d::CausalConv1d(const CausalConv1dOptions& o, Generator& gen) : options(o) {
  LOGLIN_CHECK(o.channels() > 0 && o.kernel_size() > 0, "[CausalConv1d] channels {} and kernel_size {} must be positive",
               o.channels(), o.kernel_size());
  // torch's Conv1d default: U(-b, b), b = 1/sqrt(fan_in), fan_in = kernel_size for depthwise.
  double b = 1.0 / std::sqrt(static_cast<double>(o.kernel_size()));
  weight = register_parameter("weight", rand({o.channels(), o.kernel_size()}, -b, b, DType::f32, gen));
  if (o.bias()) bias = register_parameter("bias", rand({o.channels()}, -b, b, DType::f32, gen));
}

Tensor CausalConv1d::forward(const Tensor& x, const Tensor& cu_seqlens) const {
  return causal_conv1d(x, weight, bias, options.activation(), cu_seqlens);
}

Tensor CausalConv1d::initial_state(int64_t batch) const {
  return Tensor::zeros({batch, options.kernel_size() - 1, options.channels()}, weight.dtype(), weight.device());
}

Tensor CausalConv1d::step(const Tensor& x_t, Tensor& state) const {
  // The window [state ; x_t] is a length-W sequence whose last output is this step's.
  Tensor window = cat({state, x_t.unsqueeze(1)}, 1);  // [B, W, C]
  Tensor y = causal_conv1d(window, weight, bias, options.activation()).select(1, -1);
  state = window.slice(1, 1, options.kernel_size()).contiguous();
  return y;
}

Tensor CausalConv1d::prefill(const Tensor& x, Tensor& state) const {
  // [state ; x] is W-1+T rows; its last T outputs see only real inputs.
  const int64_t T = x.size(1), W = options.kernel_size();
  Tensor window = cat({state, x}, 1);  // [B, W-1+T, C]
  Tensor y = causal_conv1d(window, weight, bias, options.activation()).narrow(1, W - 1, T);
  state = window.narrow(1, T, W - 1).contiguous();
  return y;
}

}  // namespace loglin::nn

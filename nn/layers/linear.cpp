#include "nn/layers/linear.h"

#include "ops/ops.h"

namespace loglin::nn {

Linear::Linear(const LinearOptions& o, Generator& gen) : options(o) {
  LOGLIN_CHECK(o.in_features() > 0 && o.out_features() > 0, "[Linear] features must be positive, got in {} out {}",
               o.in_features(), o.out_features());
  weight = register_parameter("weight", mul(randn({o.out_features(), o.in_features()}, DType::f32, gen), o.init_std()));
  if (o.bias()) bias = register_parameter("bias", Tensor::zeros({o.out_features()}));
}

Tensor Linear::forward(const Tensor& x) const {
  LOGLIN_CHECK(x.dim() >= 1 && x.size(-1) == options.in_features(), "[Linear] input's last dim is {}, expected {}",
               x.dim() ? x.size(-1) : 0, options.in_features());
  Tensor y = matmul(x, weight.transpose(0, 1));
  return bias.defined() ? y + bias : y;
}

}  // namespace loglin::nn

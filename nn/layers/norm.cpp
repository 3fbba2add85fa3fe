#include "nn/layers/norm.h"

#include "ops/ops.h"

namespace loglin::nn {

RMSNorm::RMSNorm(const NormOptions& o) : options(o) {
  LOGLIN_CHECK(o.dim() > 0, "[RMSNorm] dim must be positive, got {}", o.dim());
  if (o.affine()) weight = register_parameter("weight", Tensor::ones({o.dim()}));
}

Tensor RMSNorm::forward(const Tensor& x) const { return rms_norm(x, weight, options.eps()); }

LayerNorm::LayerNorm(const NormOptions& o) : options(o) {
  LOGLIN_CHECK(o.dim() > 0, "[LayerNorm] dim must be positive, got {}", o.dim());
  if (o.affine()) {
    weight = register_parameter("weight", Tensor::ones({o.dim()}));
    bias = register_parameter("bias", Tensor::zeros({o.dim()}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, options.eps()); }

}  // namespace loglin::nn

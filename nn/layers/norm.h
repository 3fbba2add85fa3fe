// RMSNorm and LayerNorm over the last dim, with a learned scale (and shift).
#pragma once
#include "nn/module.h"
#include "nn/options.h"

namespace loglin::nn {

struct NormOptions {
  explicit NormOptions(int64_t dim) : dim_(dim) {}
  LOGLIN_ARG(int64_t, dim);
  LOGLIN_ARG(double, eps) = 1e-5;
  LOGLIN_ARG(bool, affine) = true;  // learn weight (and bias for LayerNorm)
};

class RMSNorm : public Module {
 public:
  explicit RMSNorm(const NormOptions& options);
  Tensor forward(const Tensor& x) const;
  std::string type_name() const override { return "RMSNorm"; }

  NormOptions options;
  Tensor weight;  // [dim], ones; undefined without affine
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(const NormOptions& options);
  Tensor forward(const Tensor& x) const;
  std::string type_name() const override { return "LayerNorm"; }

  NormOptions options;
  Tensor weight, bias;  // [dim]: ones and zeros; undefined without affine
};

}  // namespace loglin::nn

// y = x W^T + b, W [out, in] as in torch (so state dicts look familiar).
#pragma once
#include "core/rng.h"
#include "nn/module.h"
#include "nn/options.h"

namespace loglin::nn {

struct LinearOptions {
  LinearOptions(int64_t in, int64_t out) : in_features_(in), out_features_(out) {}
  LOGLIN_ARG(int64_t, in_features);
  LOGLIN_ARG(int64_t, out_features);
  LOGLIN_ARG(bool, bias) = true;
  LOGLIN_ARG(double, init_std) = 0.02;  // W ~ N(0, init_std^2); b = 0
};

class Linear : public Module {
 public:
  explicit Linear(const LinearOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;  // x [..., in] -> [..., out]
  std::string type_name() const override { return "Linear"; }

  LinearOptions options;
  Tensor weight, bias;  // bias undefined without bias
};

}  // namespace loglin::nn

// The small model the data-parallel tests train: 6 features -> 16 -> 5
// classes (tanh between), std-0.5 initialisation so gradients are O(1).
#pragma once
#include <memory>

#include "core/rng.h"
#include "nn/layers/linear.h"
#include "ops/ops.h"

namespace dp_test {

struct TwoLayerNet : loglin::nn::Module {
  std::shared_ptr<loglin::nn::Linear> fc1, fc2;
  explicit TwoLayerNet(loglin::Generator& gen) {
    using loglin::nn::Linear, loglin::nn::LinearOptions;
    fc1 = register_module("fc1", std::make_shared<Linear>(LinearOptions(6, 16).init_std(0.5), gen));
    fc2 = register_module("fc2", std::make_shared<Linear>(LinearOptions(16, 5).init_std(0.5), gen));
  }
  loglin::Tensor forward(const loglin::Tensor& x) const { return fc2->forward(loglin::tanh(fc1->forward(x))); }
};

}  // namespace dp_test

#include "nn/layers/mlp.h"

#include "ops/ops.h"

namespace loglin::nn {

SwiGLU::SwiGLU(const SwiGLUOptions& o, Generator& gen) : options(o) {
  gate = register_module("gate", std::make_shared<Linear>(LinearOptions(o.dim(), o.hidden()).bias(false).init_std(o.init_std()), gen));
  up = register_module("up", std::make_shared<Linear>(LinearOptions(o.dim(), o.hidden()).bias(false).init_std(o.init_std()), gen));
  down = register_module(
      "down", std::make_shared<Linear>(LinearOptions(o.hidden(), o.dim()).bias(false).init_std(o.out_init_std()), gen));
}

Tensor SwiGLU::forward(const Tensor& x) const { return down->forward(swiglu(gate->forward(x), up->forward(x))); }

}  // namespace loglin::nn

// SwiGLU MLP: down(silu(gate(x)) * up(x)), no biases (as in Llama).
#pragma once
#include <memory>

#include "core/rng.h"
#include "nn/layers/linear.h"

namespace loglin::nn {

struct SwiGLUOptions {
  SwiGLUOptions(int64_t dim, int64_t hidden) : dim_(dim), hidden_(hidden) {}
  LOGLIN_ARG(int64_t, dim);
  LOGLIN_ARG(int64_t, hidden);
  LOGLIN_ARG(double, init_std) = 0.02;
  LOGLIN_ARG(double, out_init_std) = 0.02;  // models scale this down by depth
};

class SwiGLU : public Module {
 public:
  explicit SwiGLU(const SwiGLUOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;
  std::string type_name() const override { return "SwiGLU"; }

  SwiGLUOptions options;
  std::shared_ptr<Linear> gate, up, down;
};

}  // namespace loglin::nn

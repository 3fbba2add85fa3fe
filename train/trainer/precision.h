// training.precision as scopes:
//   - bf16-mixed (PrecisionScope): the matmuls and mixers inside it compute
//     in bf16 (ops/autocast.h) while parameters, norms, softmax, losses and
//     the optimizer stay in f32;
//   - tf32 (Tf32Scope, held for a whole run, backward passes included): f32
//     everywhere, with float32 matmul precision "high" (ops/precision.h), so
//     every op with TF32 kernels (matmul, log-linear and scalar-decay
//     attention) may round its product inputs to TF32 on tensor cores;
//   - f32: neither (precision "highest" unless the environment says high).
#pragma once
#include <optional>

#include "ops/autocast.h"
#include "ops/precision.h"

namespace loglin {

class PrecisionScope {
 public:
  explicit PrecisionScope(bool bf16_mixed) {
    if (bf16_mixed) guard_.emplace(DType::bf16);
  }

 private:
  std::optional<AutocastGuard> guard_;
};

// Sets float32 matmul precision "high" for its lifetime when `on`, then
// restores the previous setting.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool on) {
    if (on) guard_.emplace(Float32MatmulPrecision::high);
  }

 private:
  std::optional<Float32MatmulPrecisionGuard> guard_;
};

}  // namespace loglin

// training.precision as a scope: under bf16-mixed the matmuls and mixers
// inside it compute in bf16 (ops/autocast.h) while parameters, norms,
// softmax, losses and the optimizer stay in f32. f32 makes it a no-op.
#pragma once
#include <optional>

#include "ops/autocast.h"

namespace loglin {

class PrecisionScope {
 public:
  explicit PrecisionScope(bool bf16_mixed) {
    if (bf16_mixed) guard_.emplace(DType::bf16);
  }

 private:
  std::optional<AutocastGuard> guard_;
};

}  // namespace loglin

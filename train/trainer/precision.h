// training.precision as scopes:
//   - bf16-mixed (PrecisionScope): the matmuls and mixers inside it compute
//     in bf16 (ops/autocast.h) while parameters, norms, softmax, losses and
//     the optimizer stay in f32;
//   - tf32 (Tf32Scope, held for a whole run, backward passes included): f32
//     everywhere, but f32 matmuls and log-linear attention may round their
//     product inputs to TF32 on tensor cores;
//   - f32: neither.
#pragma once
#include <optional>
#include <string>

#include "ops/autocast.h"
#include "ops/log_linear_attention/log_linear_attention.h"
#include "ops/matmul/matmul.h"

namespace loglin {

class PrecisionScope {
 public:
  explicit PrecisionScope(bool bf16_mixed) {
    if (bf16_mixed) guard_.emplace(DType::bf16);
  }

 private:
  std::optional<AutocastGuard> guard_;
};

// Allows TF32 in matmul and log_linear_attention for its lifetime when
// `on`, then restores both switches.
class Tf32Scope {
 public:
  explicit Tf32Scope(bool on)
      : on_(on), saved_matmul_(matmul_allow_tf32()), saved_lla_(log_linear_attention_allow_tf32()) {
    if (on_) {
      set_matmul_allow_tf32(true);
      set_log_linear_attention_allow_tf32(true);
    }
  }
  ~Tf32Scope() {
    if (on_) {
      set_matmul_allow_tf32(saved_matmul_);
      set_log_linear_attention_allow_tf32(saved_lla_);
    }
  }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool on_, saved_matmul_, saved_lla_;
};

}  // namespace loglin

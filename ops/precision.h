// One precision setting for every op, in libtorch's spirit
// (torch.set_float32_matmul_precision): how f32 products may be computed.
//   "highest" (default): f32 products in full f32;
//   "high": f32 products may round their inputs to TF32 on tensor cores
//     (10 mantissa bits, f32 accumulation, about 1e-3 relative error).
// matmul, log_linear_attention, scalar_decay_attention, causal_attention and
// every later op read it; each op's plan (LOGLIN_EXPLAIN=1) says what it
// made of it. Process-wide. The environment variable
// LOGLIN_FLOAT32_MATMUL_PRECISION (highest or high) sets it at start-up; the
// setter wins over it. training.precision: tf32 holds "high" for a run.
//
// bf16 mixed precision is the other, per-thread switch: AutocastGuard
// (ops/autocast.h), training.precision: bf16-mixed.
#pragma once
#include <string>

namespace loglin {

enum class Float32MatmulPrecision { highest, high };

// "highest" or "high"; anything else is a clear error naming both.
void set_float32_matmul_precision(const std::string& precision);
void set_float32_matmul_precision(Float32MatmulPrecision precision);
// The setter's value, else LOGLIN_FLOAT32_MATMUL_PRECISION's, else highest.
Float32MatmulPrecision float32_matmul_precision();
const char* float32_matmul_precision_name(Float32MatmulPrecision precision);
// Whether f32 products may run on TF32 tensor cores (precision "high").
inline bool float32_matmul_allows_tf32() { return float32_matmul_precision() == Float32MatmulPrecision::high; }

// Sets the precision for its lifetime, then restores the previous setting
// (the setter's, or the environment's when the setter had not been used).
class Float32MatmulPrecisionGuard {
 public:
  explicit Float32MatmulPrecisionGuard(Float32MatmulPrecision precision);
  explicit Float32MatmulPrecisionGuard(const std::string& precision);
  ~Float32MatmulPrecisionGuard();
  Float32MatmulPrecisionGuard(const Float32MatmulPrecisionGuard&) = delete;
  Float32MatmulPrecisionGuard& operator=(const Float32MatmulPrecisionGuard&) = delete;

 private:
  int saved_;
};

}  // namespace loglin

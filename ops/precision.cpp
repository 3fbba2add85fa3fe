// The process-wide f32 product precision (precision.h).
#include "ops/precision.h"

#include <atomic>
#include <cstdlib>
#include <memory>

#include "autograd/recompute_modes.h"
#include "core/error.h"

namespace loglin {
namespace {

// -1: the setter was not used, the environment decides; otherwise the
// setter's Float32MatmulPrecision.
std::atomic<int> choice{-1};

Float32MatmulPrecision parse(const std::string& s, const char* where) {
  if (s == "highest") return Float32MatmulPrecision::highest;
  if (s == "high") return Float32MatmulPrecision::high;
  LOGLIN_FAIL("[float32_matmul_precision] {} '{}' is not a precision: choose highest (full f32) or high (TF32 "
              "tensor cores)",
              where, s);
}

Float32MatmulPrecision from_environment() {
  static const Float32MatmulPrecision p = [] {
    const char* e = std::getenv("LOGLIN_FLOAT32_MATMUL_PRECISION");
    return e && *e ? parse(e, "LOGLIN_FLOAT32_MATMUL_PRECISION") : Float32MatmulPrecision::highest;
  }();
  return p;
}

// A checkpoint's recompute re-enters the precision read at its forward
// (autograd/recompute_modes.h). Registered by the first setter call; until
// then the precision has been the environment's all along.
void register_for_recompute() {
  static const bool registered = [] {
    autograd::register_recompute_mode("float32_matmul_precision", [] {
      const Float32MatmulPrecision p = float32_matmul_precision();
      return autograd::ReenterMode([p] { return std::make_shared<Float32MatmulPrecisionGuard>(p); });
    });
    return true;
  }();
  (void)registered;
}

}  // namespace

void set_float32_matmul_precision(const std::string& precision) {
  set_float32_matmul_precision(parse(precision, "set_float32_matmul_precision:"));
}

void set_float32_matmul_precision(Float32MatmulPrecision precision) {
  register_for_recompute();
  choice.store(static_cast<int>(precision));
}

Float32MatmulPrecision float32_matmul_precision() {
  const int c = choice.load();
  return c >= 0 ? static_cast<Float32MatmulPrecision>(c) : from_environment();
}

const char* float32_matmul_precision_name(Float32MatmulPrecision precision) {
  return precision == Float32MatmulPrecision::high ? "high" : "highest";
}

Float32MatmulPrecisionGuard::Float32MatmulPrecisionGuard(Float32MatmulPrecision precision) : saved_(choice.load()) {
  set_float32_matmul_precision(precision);
}

Float32MatmulPrecisionGuard::Float32MatmulPrecisionGuard(const std::string& precision) : saved_(choice.load()) {
  set_float32_matmul_precision(precision);
}

Float32MatmulPrecisionGuard::~Float32MatmulPrecisionGuard() { choice.store(saved_); }

}  // namespace loglin

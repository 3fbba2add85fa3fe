#include "ops/autocast.h"

#include <memory>

#include "autograd/recompute_modes.h"
#include "core/error.h"

namespace loglin {
namespace {
thread_local std::optional<DType> current;

// A checkpoint's recompute runs in backward, usually outside the forward's
// AutocastGuard: it re-enters the dtype read at its forward. Registered the
// first time a guard is made; before that autocast has always been off.
void register_for_recompute() {
  static const bool registered = [] {
    autograd::register_recompute_mode("autocast", [] {
      const std::optional<DType> dtype = current;
      return autograd::ReenterMode([dtype] { return std::make_shared<AutocastGuard>(dtype); });
    });
    return true;
  }();
  (void)registered;
}

}  // namespace

std::optional<DType> autocast_dtype() { return current; }

AutocastGuard::AutocastGuard(std::optional<DType> dtype) : previous_(current) {
  LOGLIN_CHECK(!dtype || *dtype == DType::bf16, "[autocast] compute dtype must be bf16, got {}",
               dtype_name(*dtype));
  register_for_recompute();
  current = dtype;
}

AutocastGuard::~AutocastGuard() { current = previous_; }

}  // namespace loglin

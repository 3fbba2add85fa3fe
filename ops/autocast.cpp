#include "ops/autocast.h"

#include "core/error.h"

namespace loglin {
namespace {
thread_local std::optional<DType> current;
}  // namespace

std::optional<DType> autocast_dtype() { return current; }

AutocastGuard::AutocastGuard(std::optional<DType> dtype) : previous_(current) {
  LOGLIN_CHECK(!dtype || *dtype == DType::bf16, "[autocast] compute dtype must be bf16, got {}",
               dtype_name(*dtype));
  current = dtype;
}

AutocastGuard::~AutocastGuard() { current = previous_; }

}  // namespace loglin

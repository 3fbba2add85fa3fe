// KernelPlan's one-line form (plan.h).
#include "ops/plan.h"

#include <fmt/format.h>

namespace loglin {

std::string KernelPlan::str() const {
  std::string how = fmt::format("{} in {}", version, dtype_name(compute_dtype));
  if (autocast) how += ", bf16 autocast";
  if (tf32) how += ", TF32";
  if (!split.empty()) how += ", split: " + split;
  return fmt::format("{} {} on {} -> {}: {}", call, dtype_name(input_dtype), device.str(), how, reason);
}

}  // namespace loglin

#include "train/optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace loglin::optim {

double Schedule::lr_at(int64_t step) const {
  LOGLIN_CHECK(total_steps > 0, "[schedule] total_steps must be positive, got {}", total_steps);
  const double min_lr = lr * min_lr_ratio;
  if (warmup_steps > 0 && step < warmup_steps) return lr * static_cast<double>(step + 1) / warmup_steps;
  if (name == "constant") return lr;
  if (name == "cosine") {
    int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
    double progress = std::clamp(static_cast<double>(step - warmup_steps) / span, 0.0, 1.0);
    return min_lr + 0.5 * (lr - min_lr) * (1 + std::cos(M_PI * progress));
  }
  if (name == "wsd") {
    int64_t decay_steps = std::max<int64_t>(1, static_cast<int64_t>(std::llround(decay_fraction * total_steps)));
    int64_t decay_start = total_steps - decay_steps;
    if (step < decay_start) return lr;
    double progress = std::clamp(static_cast<double>(step - decay_start + 1) / decay_steps, 0.0, 1.0);
    return lr + (min_lr - lr) * progress;
  }
  LOGLIN_FAIL("[schedule] unknown schedule '{}' (expected cosine, constant or wsd)", name);
}

}  // namespace loglin::optim

// Learning-rate schedules: lr(step) for step = 0, 1, ..., total-1.
//   cosine:   linear warmup, then cosine from lr to lr*min_ratio
//   constant: linear warmup, then lr
//   wsd:      warmup, stable at lr, then a linear decay to lr*min_ratio over
//             the last decay_fraction of the steps
#pragma once
#include <cstdint>
#include <string>

namespace loglin::optim {

struct Schedule {
  std::string name = "cosine";
  double lr = 3e-3;
  int64_t warmup_steps = 100;
  int64_t total_steps = 1000;
  double min_lr_ratio = 0.1;
  double decay_fraction = 0.2;

  double lr_at(int64_t step) const;
};

}  // namespace loglin::optim

// Dropout as a module: active in train(), identity in eval().
#pragma once
#include "core/rng.h"
#include "nn/module.h"

namespace loglin::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p, Generator& gen = default_generator());
  Tensor forward(const Tensor& x) const;
  std::string type_name() const override { return "Dropout"; }
  // Where the masks' seeds come from (a checkpoint restores its state to
  // recompute the same masks).
  Generator& generator() const { return *gen_; }

  double p;

 private:
  Generator* gen_;
};

}  // namespace loglin::nn

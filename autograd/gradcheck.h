// gradcheck: compares an op's hand-written backward with float64 central
// finite differences.
//
// The function's output y is reduced to L = sum(y * r) with a fixed random r,
// so one backward gives dL/dx for every input; each input element is then
// nudged by +-eps to get the numeric dL/dx. Inputs must be f64; those with
// requires_grad set are checked (the others are held constant).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loglin {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;  // an element passes when |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-3;
  uint64_t seed = 1234;  // for the projection r
  // Use the given tensors themselves instead of fresh copies (they must be
  // contiguous f64 leaves; their .grad is reset). This reaches tensors that
  // live elsewhere too, such as a module's parameters: fn may ignore its
  // argument and read them where they are.
  bool in_place = false;
};

struct GradcheckInputReport {
  size_t index = 0;
  Shape shape;
  double max_abs_err = 0;
  double max_rel_err = 0;  // max |a - n| / max(|n|) over the input's elements
  bool passed = true;
};

struct GradcheckResult {
  bool passed = true;
  double max_abs_err = 0;
  double max_rel_err = 0;
  std::vector<GradcheckInputReport> inputs;
  std::string message;  // the worst element when something failed
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

}  // namespace loglin

// Helpers for the nn tests: gradcheck a module in float64 through its
// parameters (rel_err comes from test_util.h).
#pragma once
#include <functional>
#include <vector>

#include "autograd/gradcheck.h"
#include "nn/module.h"
#include "test_util.h"

namespace loglin::test {

// Converts `m` to f64 and gradchecks fn(x) with respect to x and every
// parameter of m.
inline GradcheckResult gradcheck_module(nn::Module& m, const Tensor& x, const std::function<Tensor(const Tensor&)>& fn,
                                        GradcheckOptions opt = {}) {
  m.to(DType::f64);
  std::vector<Tensor> inputs{x};
  for (auto& p : m.parameters()) inputs.push_back(p);
  opt.in_place = true;
  return gradcheck([&](const std::vector<Tensor>& in) { return fn(in[0]); }, inputs, opt);
}

// The shared ||a - b|| / ||b|| (see test_util.h).
using ::loglin_test::rel_err;

}  // namespace loglin::test

// Helpers for the nn tests: gradcheck a module in float64 through its
// parameters, and relative error.
#pragma once
#include <cmath>
#include <functional>
#include <vector>

#include "autograd/gradcheck.h"
#include "nn/module.h"

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

inline double rel_err(const Tensor& a, const Tensor& b) {
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  double num = 0, den = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    num += (av[i] - bv[i]) * (av[i] - bv[i]);
    den += bv[i] * bv[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

}  // namespace loglin::test

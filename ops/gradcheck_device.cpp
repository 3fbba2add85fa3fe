#include "ops/gradcheck_device.h"

#include <algorithm>
#include <cmath>

#include "core/rng.h"
#include "ops/elementwise/binary.h"
#include "ops/reduce/reduce.h"

namespace loglin {
namespace {

struct Run {
  Tensor out;
  std::vector<Tensor> grads;  // undefined where an input needs none
};

std::vector<Tensor> prepared(const std::vector<Tensor>& inputs, DType dtype, Device device) {
  std::vector<Tensor> out;
  for (const Tensor& x : inputs) {
    Tensor y = x.detach();
    if (is_floating(y.dtype())) y = y.to(dtype);
    y = y.to(device).detach();
    if (x.requires_grad()) y.set_requires_grad(true);
    out.push_back(y);
  }
  return out;
}

// fn, then the backward of sum(out * w) for w drawn from `wseed`.
Run run(const GradcheckCase& c, const std::vector<Tensor>& inputs, DType dtype, uint64_t wseed) {
  Run r;
  r.out = c.fn(inputs);
  if (!r.out.requires_grad()) return r;
  Generator wgen(wseed);
  Tensor w = randn(r.out.shape(), DType::f64, wgen).to(dtype).to(r.out.device());
  sum(mul(r.out, w)).backward();
  for (const Tensor& x : inputs) r.grads.push_back(x.requires_grad() ? x.grad() : Tensor());
  return r;
}

// ||a - b|| / ||b|| in double (||a - b|| when b is zero); NaN gives infinity.
double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  if (va.size() != vb.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (va[i] - vb[i]) * (va[i] - vb[i]);
    den += vb[i] * vb[i];
  }
  const double e = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return std::isnan(e) ? INFINITY : e;
}

}  // namespace

double device_check_tolerance(DType dtype) { return dtype == DType::f64 ? 1e-10 : 2e-5; }

DeviceCheckResult check_case_on_device(const GradcheckCase& c, DType dtype, Device device, uint64_t seed) {
  LOGLIN_CHECK(!c.options.in_place, "[gradcheck] case '{} {}' works in place and cannot move to another device",
               c.op, c.label);
  Generator gen(seed);
  const std::vector<Tensor> inputs = c.make_inputs(gen);
  const Run cpu = run(c, prepared(inputs, dtype, Device::cpu()), dtype, seed + 1);
  DeviceCheckResult r;
  try {
    const Run dev = run(c, prepared(inputs, dtype, device), dtype, seed + 1);
    LOGLIN_CHECK(dev.out.device() == device, "[gradcheck] the output came back on {}, not {}", dev.out.device().str(),
                 device.str());
    r.out_err = relative_error(dev.out, cpu.out);
    for (size_t i = 0; i < cpu.grads.size(); ++i) {
      if (!cpu.grads[i].defined()) continue;
      LOGLIN_CHECK(i < dev.grads.size() && dev.grads[i].defined(), "[gradcheck] input {} got no gradient on {}", i,
                   device.str());
      r.grad_err = std::max(r.grad_err, relative_error(dev.grads[i], cpu.grads[i]));
    }
  } catch (const Error& e) {
    r.error = e.what();
  }
  const double tol = device_check_tolerance(dtype);
  r.passed = r.error.empty() && r.out_err <= tol && r.grad_err <= tol;
  return r;
}

}  // namespace loglin

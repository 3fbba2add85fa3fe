// Every registered gradcheck case, run on CUDA and on the CPU from the same
// random inputs: outputs and input gradients must agree. f64 must agree to
// rounding; f32 within the tolerance DESIGN.md gives for f32. A case whose
// op has no CUDA path fails here, naming the op.
#include <algorithm>
#include <sstream>

#include "catch.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Outcome {
  double out_err = 0;
  double grad_err = 0;  // worst over the inputs that require grad
  std::string error;    // a loglin::Error thrown on the cuda side
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

struct Run {
  Tensor out;
  std::vector<Tensor> grads;  // undefined where an input needs none
};

// Runs fn, then backward of sum(out * w) for w drawn from `wseed`.
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

Outcome compare(const GradcheckCase& c, DType dtype, uint64_t seed) {
  Generator gen(seed);
  std::vector<Tensor> inputs = c.make_inputs(gen);
  Run cpu = run(c, prepared(inputs, dtype, Device::cpu()), dtype, seed + 1);
  Outcome o;
  try {
    Run gpu = run(c, prepared(inputs, dtype, Device::cuda()), dtype, seed + 1);
    LOGLIN_CHECK(gpu.out.device().is_cuda(), "[test] the output came back on {}", gpu.out.device().str());
    o.out_err = rel_err(gpu.out.to(Device::cpu()), cpu.out);
    for (size_t i = 0; i < cpu.grads.size(); ++i) {
      if (!cpu.grads[i].defined()) continue;
      LOGLIN_CHECK(i < gpu.grads.size() && gpu.grads[i].defined(), "[test] input {} got no gradient on cuda", i);
      o.grad_err = std::max(o.grad_err, rel_err(gpu.grads[i].to(Device::cpu()), cpu.grads[i]));
    }
  } catch (const Error& e) {
    o.error = e.what();
  }
  return o;
}

}  // namespace

TEST_CASE("cuda: every registered op matches the cpu in f64 and f32", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  std::ostringstream failures;
  int n_failed = 0, n_run = 0;
  for (const GradcheckCase& c : gradcheck_cases()) {
    if (c.options.in_place) continue;  // reaches module parameters, not its inputs
    for (DType dtype : {DType::f64, DType::f32}) {
      const double tol = dtype == DType::f64 ? 1e-10 : 2e-5;
      Outcome o = compare(c, dtype, 7);
      ++n_run;
      const bool ok = o.error.empty() && o.out_err <= tol && o.grad_err <= tol;
      if (!ok) {
        ++n_failed;
        failures << c.op << " " << c.label << " " << dtype_name(dtype) << ": "
                 << (o.error.empty() ? "" : o.error + " ") << "out rel err " << o.out_err << ", grad rel err "
                 << o.grad_err << "\n";
      }
    }
  }
  INFO("failed cases (" << n_failed << " of " << n_run << "):\n" << failures.str());
  CHECK(n_failed == 0);
  CHECK(n_run > 100);
}

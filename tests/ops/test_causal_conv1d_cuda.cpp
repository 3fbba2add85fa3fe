// causal_conv1d on CUDA against the CPU path: a training-like shape
// [4, 1024, 384] with W = 4, plus W = 1, W wider than one group of tap
// accumulators, T < W, odd channel counts; forward, dx, dweight and dbias;
// and run-to-run determinism of the weight and bias gradients.
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Run {
  Tensor out, dx, dw, db;  // on the cpu; db undefined without bias
};

Run run_on(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy, Device dev) {
  auto leaf = [&](const Tensor& t) {
    if (!t.defined()) return Tensor();
    Tensor l = t.to(dev).detach();
    l.set_requires_grad(true);
    return l;
  };
  Tensor xl = leaf(x), wl = leaf(w), bl = leaf(b);
  Tensor out = causal_conv1d(xl, wl, bl);
  out.backward(gy.to(dev));
  Run r{out.to(Device::cpu()), xl.grad().to(Device::cpu()), wl.grad().to(Device::cpu()), Tensor()};
  if (bl.defined()) r.db = bl.grad().to(Device::cpu());
  return r;
}

struct Case {
  int64_t B, T, C, W;
  bool bias;
};

}  // namespace

TEST_CASE("cuda causal_conv1d matches the cpu, forward and gradients", "[cuda][ops][causal_conv1d]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<Case> cases = {{4, 1024, 384, 4, true}, {4, 1024, 384, 4, false}, {2, 300, 130, 1, true},
                                   {3, 257, 33, 7, true},   {2, 3, 5, 4, true},        {1, 1, 1, 4, true},
                                   {2, 100, 1536, 4, true}};
  uint64_t seed = 70;
  for (const Case& k : cases)
    for (DType dt : {DType::f32, DType::f64}) {
      INFO("B " << k.B << " T " << k.T << " C " << k.C << " W " << k.W << (k.bias ? " bias " : " no bias ")
                << dtype_name(dt));
      Generator gen(++seed);
      Tensor x = randn({k.B, k.T, k.C}, dt, gen);
      Tensor w = randn({k.C, k.W}, dt, gen);
      Tensor b = k.bias ? randn({k.C}, dt, gen) : Tensor();
      Tensor gy = randn({k.B, k.T, k.C}, dt, gen);
      Run cpu = run_on(x, w, b, gy, Device::cpu());
      Run gpu = run_on(x, w, b, gy, Device::cuda());
      const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
      const double param_tol = dt == DType::f64 ? 1e-10 : 1e-4;  // sums over every (b, t)
      CHECK(rel_err(gpu.out, cpu.out) <= tol);
      CHECK(rel_err(gpu.dx, cpu.dx) <= tol);
      CHECK(rel_err(gpu.dw, cpu.dw) <= param_tol);
      if (k.bias) CHECK(rel_err(gpu.db, cpu.db) <= param_tol);
    }
}

TEST_CASE("cuda causal_conv1d weight gradients are the same bits every run", "[cuda][ops][causal_conv1d]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(90);
  Tensor x = randn({2, 2048, 256}, DType::f32, gen), w = randn({256, 4}, DType::f32, gen);
  Tensor b = randn({256}, DType::f32, gen), gy = randn({2, 2048, 256}, DType::f32, gen);
  Run a = run_on(x, w, b, gy, Device::cuda());
  Run c = run_on(x, w, b, gy, Device::cuda());
  CHECK(a.dw.to_vector<float>() == c.dw.to_vector<float>());
  CHECK(a.db.to_vector<float>() == c.db.to_vector<float>());
}

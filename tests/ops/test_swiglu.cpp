// swiglu (silu(a) * b fused) against its composite reference silu(a) * b:
// forward and both gradients on the CPU, on CUDA against the CPU (packed and
// unaligned paths, f32 and f64), and its input errors.
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Result {
  Tensor out, da, db;
};

// f(view(a), view(b)) and both gradients for the upstream gradient g, on `dev`.
Result run(bool fused, const Tensor& a0, const Tensor& b0, const Tensor& g, Device dev, bool offset_views) {
  Tensor a = a0.to(dev).detach().set_requires_grad(true), b = b0.to(dev).detach().set_requires_grad(true);
  Tensor av = offset_views ? a.narrow(-1, 1, a.size(-1) - 1) : a;
  Tensor bv = offset_views ? b.narrow(-1, 1, b.size(-1) - 1) : b;
  Tensor out = fused ? swiglu(av, bv) : silu(av) * bv;
  out.backward(g.to(dev));
  return {out.to(Device::cpu()), a.grad().to(Device::cpu()), b.grad().to(Device::cpu())};
}

}  // namespace

TEST_CASE("swiglu matches silu(a) * b, forward and both gradients", "[ops]") {
  for (DType dt : {DType::f32, DType::f64}) {
    for (bool views : {false, true}) {
      Generator gen(3);
      Tensor a = rand({6, 33, 40}, -8.0, 8.0, dt, gen), b = randn({6, 33, 40}, dt, gen);
      Tensor g = randn({6, 33, views ? 39 : 40}, dt, gen);
      Result f = run(true, a, b, g, Device::cpu(), views), r = run(false, a, b, g, Device::cpu(), views);
      const double tol = dt == DType::f64 ? 1e-12 : 1e-6;
      INFO(dtype_name(dt) << (views ? " strided views" : ""));
      CHECK(rel_err(f.out, r.out) <= tol);
      CHECK(rel_err(f.da, r.da) <= tol);
      CHECK(rel_err(f.db, r.db) <= tol);
    }
  }
}

TEST_CASE("swiglu names its bad input", "[ops]") {
  LL_CHECK_ERROR(swiglu(randn({2, 3}), randn({3, 2})), "[swiglu] a has shape [2, 3] but b has shape [3, 2]");
  LL_CHECK_ERROR(swiglu(randn({2, 3}), randn({2, 3}).to(DType::f64)), "[swiglu]");
  LL_CHECK_ERROR(swiglu(Tensor(), randn({2, 3})), "[swiglu]");
}

TEST_CASE("cuda: swiglu matches the cpu, forward and both gradients", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  // 4096 x 2048 is the MLP's hidden size (packed path); 1000003 leaves a
  // scalar tail; the offset views are misaligned for 16-byte packs.
  for (DType dt : {DType::f32, DType::f64}) {
    for (const Shape& s : {Shape{4096, 2048}, Shape{1000003}, Shape{37, 41}}) {
      for (bool views : {false, true}) {
        Generator gen(5);
        Tensor a = rand(s, -8.0, 8.0, dt, gen), b = randn(s, dt, gen);
        Shape gs = s;
        if (views) gs.back() -= 1;
        Tensor g = randn(gs, dt, gen);
        Result c = run(true, a, b, g, Device::cpu(), views), d = run(true, a, b, g, Device::cuda(), views);
        const double tol = dt == DType::f64 ? 1e-12 : 2e-6;
        INFO(shape_str(s) << " " << dtype_name(dt) << (views ? " offset views" : ""));
        CHECK(rel_err(d.out, c.out) <= tol);
        CHECK(rel_err(d.da, c.da) <= tol);
        CHECK(rel_err(d.db, c.db) <= tol);
      }
    }
  }
}

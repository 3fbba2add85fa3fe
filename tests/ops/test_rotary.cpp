// rotary_embedding against the composed form it replaces (narrow, products,
// cat) on the cpu, and on CUDA against the cpu at a training size with the
// strided head slices the attention layer passes.
#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

Tensor composed(const Tensor& x, const Tensor& c, const Tensor& s) {
  const int64_t half = x.size(-1) / 2;
  Tensor x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  return cat({x1 * c - x2 * s, x1 * s + x2 * c}, -1);
}

}  // namespace

TEST_CASE("rotary_embedding equals the composed rotation, forward and backward", "[ops][rotary]") {
  Generator gen(4);
  Tensor base = randn({2, 7, 3, 8}, DType::f64, gen);  // [B, T, H, D]
  Tensor c = rand({7, 4}, -1, 1, DType::f64, gen), s = rand({7, 4}, -1, 1, DType::f64, gen);
  Tensor w = randn({2, 3, 7, 8}, DType::f64, gen);
  Tensor a = base.detach().set_requires_grad(true), b = base.detach().set_requires_grad(true);
  Tensor ya = rotary_embedding(a.transpose(1, 2), c, s), yb = composed(b.transpose(1, 2), c, s);
  CHECK(ya.is_contiguous());
  CHECK(rel_err(ya, yb) < 1e-14);
  sum(ya * w).backward();
  sum(yb * w).backward();
  CHECK(rel_err(a.grad(), b.grad()) < 1e-14);
}

TEST_CASE("rotary_embedding errors name the op and the shapes", "[ops][rotary]") {
  Tensor x = randn({2, 4, 6});
  CHECK(loglin_test::contains(loglin_test::error_message([&] { rotary_embedding(x, randn({4, 2}), randn({4, 3})); }),
                              "[rotary_embedding] cos and sin must be [T, D/2] = [4, 3]"));
  CHECK(loglin_test::contains(
      loglin_test::error_message([&] { rotary_embedding(randn({2, 4, 5}), randn({4, 2}), randn({4, 2})); }),
      "must be even"));
}

TEST_CASE("cuda rotary_embedding on strided head slices matches the cpu", "[cuda][ops][rotary]") {
  LOGLIN_REQUIRE_CUDA();
  for (DType dt : {DType::f32, DType::f64}) {
    Generator gen(5);
    Tensor qkv = randn({4, 300, 3, 6, 64}, DType::f64, gen).to(dt);  // [B, T, 3, H, D]
    Tensor c = rand({300, 32}, -1, 1, DType::f64, gen).to(dt), s = rand({300, 32}, -1, 1, DType::f64, gen).to(dt);
    Tensor g = randn({4, 6, 300, 64}, DType::f64, gen).to(dt);
    auto run = [&](Device d) {
      Tensor leaf = qkv.to(d).detach().set_requires_grad(true);
      Tensor q = leaf.permute({2, 0, 3, 1, 4}).select(0, 1);  // [B, H, T, D], strided
      Tensor y = rotary_embedding(q, c.to(d), s.to(d));
      sum(y * g.to(d)).backward();
      return std::make_pair(y.to(Device::cpu()), leaf.grad().to(Device::cpu()));
    };
    auto [yc, gc] = run(Device::cpu());
    auto [yg, gg] = run(Device::cuda());
    const double tol = dt == DType::f64 ? 1e-14 : 1e-6;
    CHECK(rel_err(yg, yc) < tol);
    CHECK(rel_err(gg, gc) < tol);
  }
}

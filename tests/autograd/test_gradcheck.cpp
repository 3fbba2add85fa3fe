// gradcheck itself: it passes correct backwards, catches wrong ones, reports
// sensible numbers, and rejects inputs it cannot check.
#include <cmath>

#include "autograd/gradcheck.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;

namespace {

Tensor rand_leaf(Generator& gen, const Shape& shape) {
  return randn(shape, DType::f64, gen).set_requires_grad(true);
}

// y = x^2 elementwise with a hand-written backward scaled by `factor`
// (factor 1 is right, factor 2 is the bug gradcheck must catch).
Tensor scaled_square(const Tensor& x, double factor) {
  Tensor y;
  {
    NoGradGuard ng;
    y = x * x;
  }
  autograd::record("scaled_square", {x}, {y}, [xd = x.detach(), factor](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{ctx.grads[0] * xd * (2.0 * factor)};
  });
  return y;
}

}  // namespace

TEST_CASE("gradcheck passes a correct composite", "[autograd]") {
  Generator gen(5);
  Tensor x = rand_leaf(gen, {3, 4});
  Tensor y = rand_leaf(gen, {3, 4});
  auto f = [](const std::vector<Tensor>& in) { return (tanh(in[0] * in[1]) + exp(in[0])).sum(); };
  GradcheckResult r = gradcheck(f, {x, y});
  INFO(r.message);
  CHECK(r.passed);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].index == 0);
  CHECK(r.inputs[1].index == 1);
  CHECK(r.inputs[0].shape == Shape{3, 4});
  CHECK(r.inputs[0].passed);
  CHECK(r.inputs[1].passed);
  CHECK(r.max_abs_err < 1e-7);
  CHECK(r.max_abs_err >= 0);
  CHECK(r.max_rel_err < 1e-6);
  CHECK(r.max_abs_err == std::max(r.inputs[0].max_abs_err, r.inputs[1].max_abs_err));
  CHECK(r.message.empty());

  // The caller's tensors are left alone.
  CHECK_FALSE(x.grad().defined());
  CHECK_FALSE(y.grad().defined());
}

TEST_CASE("gradcheck passes non-scalar outputs, broadcasting and views", "[autograd]") {
  Generator gen(6);
  std::vector<Tensor> in{rand_leaf(gen, {3, 1}), rand_leaf(gen, {1, 4})};
  GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& v) { return tanh(v[0] * v[1]).transpose(0, 1) / (v[0] * v[0] + 1.0).sum(); },
      in);
  INFO(r.message);
  CHECK(r.passed);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].shape == Shape{3, 1});
  CHECK(r.inputs[1].shape == Shape{1, 4});

  // A non-contiguous input is fine: gradcheck works on fresh contiguous copies.
  Tensor base = randn({4, 3}, DType::f64, gen);
  Tensor xt = base.transpose(0, 1).detach().set_requires_grad(true);
  GradcheckResult r2 = gradcheck([](const std::vector<Tensor>& v) { return exp(v[0]).matmul(v[0].transpose(0, 1)); },
                                 {xt});
  INFO(r2.message);
  CHECK(r2.passed);
  CHECK(base.to_vector<double>() == base.to_vector<double>());
}

TEST_CASE("gradcheck catches a backward that is off by a factor of 2", "[autograd]") {
  Generator gen(7);
  Tensor x = rand_leaf(gen, {2, 3});

  GradcheckResult good = gradcheck([](const std::vector<Tensor>& v) { return scaled_square(v[0], 1.0); }, {x});
  INFO(good.message);
  CHECK(good.passed);

  GradcheckResult bad = gradcheck([](const std::vector<Tensor>& v) { return scaled_square(v[0], 2.0); }, {x});
  INFO(bad.message);
  CHECK_FALSE(bad.passed);
  REQUIRE(bad.inputs.size() == 1);
  CHECK_FALSE(bad.inputs[0].passed);
  CHECK(bad.inputs[0].shape == Shape{2, 3});
  CHECK(contains(bad.message, "input 0"));
  // analytic = 2 * numeric, so the largest error is the largest |numeric|
  // and the relative error (error / max |numeric|) is 1.
  CHECK(bad.max_abs_err > 1e-3);
  CHECK(bad.max_abs_err == bad.inputs[0].max_abs_err);
  LL_CHECK_NEAR(bad.max_rel_err, 1.0, 1e-4);
  LL_CHECK_NEAR(bad.inputs[0].max_rel_err, 1.0, 1e-4);
}

TEST_CASE("gradcheck reports which input is wrong and skips constants", "[autograd]") {
  Generator gen(8);
  Tensor a = rand_leaf(gen, {4});
  Tensor c = randn({4}, DType::f64, gen);  // held constant, not checked
  Tensor b = rand_leaf(gen, {4});
  GradcheckResult r = gradcheck(
      [](const std::vector<Tensor>& v) { return tanh(v[0]) * v[1] + scaled_square(v[2], 2.0); }, {a, c, b});
  INFO(r.message);
  CHECK_FALSE(r.passed);
  REQUIRE(r.inputs.size() == 2);
  CHECK(r.inputs[0].index == 0);
  CHECK(r.inputs[0].passed);
  CHECK(r.inputs[0].max_abs_err < 1e-7);
  CHECK(r.inputs[1].index == 2);
  CHECK_FALSE(r.inputs[1].passed);
  CHECK(r.inputs[1].max_abs_err > 1e-3);
  CHECK(r.max_abs_err == r.inputs[1].max_abs_err);
  CHECK(contains(r.message, "input 2"));
  CHECK_FALSE(contains(r.message, "input 0"));

  // A constant input may be of any dtype.
  Tensor idx = Tensor::from_vector<int64_t>({1, 0, 3, 2}, {4});
  GradcheckResult r2 = gradcheck([](const std::vector<Tensor>& v) { return v[0] * v[1].to(DType::f64); }, {a, idx});
  INFO(r2.message);
  CHECK(r2.passed);
  CHECK(r2.inputs.size() == 1);
}

TEST_CASE("gradcheck tolerances come from its options, its projection from the seed", "[autograd]") {
  Generator gen(11);
  Tensor x = rand_leaf(gen, {5});
  auto bad = [](const std::vector<Tensor>& v) { return scaled_square(v[0], 2.0); };
  GradcheckOptions loose;
  loose.rtol = 1.5;  // |2n - n| <= 1.5 |n|: the factor-2 error is tolerated
  CHECK(gradcheck(bad, {x}, loose).passed);
  GradcheckOptions tight;
  tight.rtol = 0.5;
  CHECK_FALSE(gradcheck(bad, {x}, tight).passed);

  // Same seed, same numbers; another seed projects the output differently.
  auto f = [](const std::vector<Tensor>& v) { return tanh(v[0]) * 2.0; };
  GradcheckOptions s1, s2;
  s2.seed = 99;
  GradcheckResult a = gradcheck(bad, {x}, s1), b = gradcheck(bad, {x}, s1), c = gradcheck(bad, {x}, s2);
  CHECK(a.max_abs_err == b.max_abs_err);
  CHECK(a.max_abs_err != c.max_abs_err);
  CHECK(gradcheck(f, {x}, s2).passed);
}

TEST_CASE("gradcheck counts a NaN gradient as a failure", "[autograd]") {
  Generator gen(9);
  Tensor x = rand_leaf(gen, {3});
  auto nan_backward = [](const std::vector<Tensor>& v) {
    Tensor y;
    {
      NoGradGuard ng;
      y = v[0] * 1.0;
    }
    autograd::record("nan_backward", {v[0]}, {y}, [](autograd::BackwardContext& ctx) {
      return std::vector<Tensor>{ctx.grads[0] * NAN};
    });
    return y;
  };
  GradcheckResult r = gradcheck(nan_backward, {x});
  CHECK_FALSE(r.passed);
  REQUIRE(r.inputs.size() == 1);
  CHECK_FALSE(r.inputs[0].passed);
  CHECK(std::isinf(r.max_abs_err));
}

TEST_CASE("gradcheck rejects inputs it cannot check", "[autograd]") {
  Generator gen(10);
  auto f = [](const std::vector<Tensor>& v) { return v[0].sum(); };
  Tensor f32 = randn({3}, DType::f32, gen).set_requires_grad(true);
  LL_CHECK_ERROR(gradcheck(f, {f32}), "[gradcheck]");
  LL_CHECK_ERROR(gradcheck(f, {f32}), "f64");
  LL_CHECK_ERROR(gradcheck(f, {f32}), "f32");
  Tensor none = randn({3}, DType::f64, gen);
  LL_CHECK_ERROR(gradcheck(f, {none}), "[gradcheck]");
  LL_CHECK_ERROR(gradcheck(f, {none}), "requires_grad");
  LL_CHECK_ERROR(gradcheck(f, {}), "[gradcheck]");
  Tensor ok = rand_leaf(gen, {3});
  LL_CHECK_ERROR(gradcheck([](const std::vector<Tensor>& v) { return v[0].to(DType::f32); }, {ok}), "[gradcheck]");
}

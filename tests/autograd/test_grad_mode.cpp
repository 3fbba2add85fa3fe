// NoGradGuard and GradMode.
#include "autograd/grad_mode.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

TEST_CASE("ops under NoGradGuard record no history", "[autograd]") {
  Tensor x = Tensor::ones({2, 2}).set_requires_grad(true);
  REQUIRE(GradMode::is_enabled());
  {
    NoGradGuard ng;
    CHECK_FALSE(GradMode::is_enabled());
    Tensor y = tanh(x * 3.0 + x).matmul(x).sum();
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    CHECK(y.is_leaf());
    Tensor v = x.transpose(0, 1).reshape({4});
    CHECK_FALSE(v.requires_grad());
    CHECK(v.grad_fn() == nullptr);
    CHECK(x.requires_grad());  // the leaf itself is unchanged
    LL_CHECK_ERROR(y.backward(), "[backward]");
  }
  CHECK(GradMode::is_enabled());
  Tensor z = x * 2.0;
  CHECK(z.requires_grad());
  CHECK(z.grad_fn() != nullptr);
}

TEST_CASE("nested NoGradGuards restore the state they found", "[autograd]") {
  REQUIRE(GradMode::is_enabled());
  {
    NoGradGuard outer;
    CHECK_FALSE(GradMode::is_enabled());
    {
      NoGradGuard inner;
      CHECK_FALSE(GradMode::is_enabled());
    }
    CHECK_FALSE(GradMode::is_enabled());  // still inside outer
    // A guard opened while enabled restores "enabled" even inside another.
    GradMode::set_enabled(true);
    {
      NoGradGuard inner2;
      CHECK_FALSE(GradMode::is_enabled());
    }
    CHECK(GradMode::is_enabled());
    GradMode::set_enabled(false);
  }
  CHECK(GradMode::is_enabled());
}

TEST_CASE("NoGradGuard restores grad mode when an exception passes through", "[autograd]") {
  REQUIRE(GradMode::is_enabled());
  try {
    NoGradGuard ng;
    Tensor bad = Tensor::ones({2}) + Tensor::ones({3});  // throws
    (void)bad;
  } catch (const Error&) {
  }
  CHECK(GradMode::is_enabled());
}

TEST_CASE("backward itself records nothing and leaves grad mode on", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, 2}, {2}).set_requires_grad(true);
  (x * x).sum().backward();
  CHECK(GradMode::is_enabled());
  REQUIRE(x.grad().defined());
  CHECK_FALSE(x.grad().requires_grad());
  CHECK(x.grad().grad_fn() == nullptr);
}

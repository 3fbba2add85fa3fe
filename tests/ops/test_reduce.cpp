#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"

using namespace loglin;

TEST_CASE("sum and mean over dims with keepdim", "[ops]") {
  Tensor x = Tensor::arange(24, DType::f32).reshape({2, 3, 4});
  CHECK(sum(x).item() == 276.0);
  Tensor s = sum(x, {1});
  REQUIRE(s.shape() == Shape{2, 4});
  // sum over j of (12 i + 4 j + k) = 36 i + 12 + 3 k
  std::vector<float> sv = s.to_vector<float>();
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) CHECK(sv[i * 4 + k] == 36.0f * i + 12 + 3 * k);
  CHECK(sum(x, {0, 2}, true).shape() == Shape{1, 3, 1});
  CHECK(sum(x, {-1}).shape() == Shape{2, 3});
  Tensor m = mean(x, {2}, true);
  CHECK(m.shape() == Shape{2, 3, 1});
  CHECK(m.to_vector<float>()[0] == 1.5f);
  CHECK(mean(x).item() == Approx(11.5));
}

TEST_CASE("max over a dim and its gradient", "[ops]") {
  Tensor x = Tensor::from_vector<float>({1, 5, 3, 7, 2, 7}, {2, 3}).set_requires_grad(true);
  Tensor m = max(x, 1);
  CHECK(m.to_vector<float>() == std::vector<float>{5, 7});
  sum(m).backward();
  // Ties go to the first maximal element.
  CHECK(x.grad().to_vector<float>() == std::vector<float>{0, 1, 0, 1, 0, 0});
  CHECK(max(Tensor::from_vector<float>({-3, -1, -2}, {3})).item() == -1.0);
}

TEST_CASE("reduction errors", "[ops]") {
  Tensor x = randn({2, 3});
  CHECK_THROWS_AS(sum(x, {2}), loglin::Error);
  CHECK_THROWS_AS(sum(x, {0, 0}), loglin::Error);
  try {
    max(x, 5);
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[max] dim 5 out of range") != std::string::npos);
  }
}

TEST_CASE("sum_to_shape undoes broadcasting", "[ops]") {
  Tensor g = Tensor::ones({2, 3, 4});
  CHECK(sum_to_shape(g, {3, 1}).to_vector<float>() == std::vector<float>{8, 8, 8});
  CHECK(sum_to_shape(g, {}).item() == 24.0);
  CHECK(sum_to_shape(g, {2, 3, 4}).shape() == Shape{2, 3, 4});
  CHECK_THROWS_AS(sum_to_shape(g, {5}), loglin::Error);
}

TEST_CASE("long f32 sums stay accurate", "[ops]") {
  // 1e6 values of 0.1f: naive float accumulation drifts by ~1e-3 relative.
  Tensor x = Tensor::full({1000000}, 0.1);
  CHECK(sum(x).item() == Approx(1e6 * static_cast<double>(0.1f)).epsilon(1e-6));
}

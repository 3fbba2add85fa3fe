#include <cmath>
#include <functional>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"

using namespace loglin;

namespace {
bool throws_naming(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const loglin::Error& e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}
}  // namespace

TEST_CASE("binary ops broadcast like numpy", "[ops]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3}, {3, 1});
  Tensor b = Tensor::from_vector<float>({10, 20, 30, 40}, {1, 4});
  Tensor c = a + b;
  REQUIRE(c.shape() == Shape{3, 4});
  std::vector<float> v = c.to_vector<float>();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) CHECK(v[i * 4 + j] == static_cast<float>(i + 1 + 10 * (j + 1)));
  // Leading dims are added: [2,3,4] op [4].
  Tensor x = randn({2, 3, 4});
  Tensor r = randn({4});
  std::vector<float> xv = x.to_vector<float>(), rv = r.to_vector<float>(), mv = (x * r).to_vector<float>();
  for (int i = 0; i < 24; ++i) CHECK(mv[i] == xv[i] * rv[i % 4]);
  // A 0-dim scalar broadcasts to anything.
  CHECK((Tensor::scalar(2.0) * x).shape() == x.shape());
}

TEST_CASE("binary ops on non-contiguous views", "[ops]") {
  Tensor x = randn({4, 5});
  Tensor t = x.transpose(0, 1);  // [5,4], strided
  Tensor y = t - t.contiguous();
  for (float v : y.to_vector<float>()) CHECK(v == 0.0f);
  Tensor s = x.slice(1, 0, 5, 2);  // every other column
  std::vector<float> xv = x.to_vector<float>(), sv = (s * 2.0).to_vector<float>();
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) CHECK(sv[i * 3 + j] == 2.0f * xv[i * 5 + 2 * j]);
}

TEST_CASE("binary op errors name the op and shapes", "[ops]") {
  Tensor a = randn({2, 3}), b = randn({4});
  CHECK(throws_naming([&] { add(a, b); }, "[add] shapes [2, 3] and [4] cannot broadcast"));
  CHECK(throws_naming([&] { mul(a, randn({2, 3}, DType::f64)); }, "[mul] dtypes f32 and f64 differ"));
  CHECK(throws_naming([&] { add(a, Tensor()); }, "[add]"));
  Tensor bf = Tensor::zeros({2}, DType::bf16);
  CHECK(exp(bf).dtype() == DType::bf16);  // bf16 computes in f32 (tests/ops/test_bf16_ops.cpp)
}

TEST_CASE("unary ops match their formulas", "[ops]") {
  Tensor x = rand({64}, -3, 3, DType::f64);
  std::vector<double> xv = x.to_vector<double>();
  auto check = [&](const Tensor& y, const std::function<double(double)>& f) {
    std::vector<double> yv = y.to_vector<double>();
    for (size_t i = 0; i < xv.size(); ++i) CHECK(yv[i] == Approx(f(xv[i])).epsilon(1e-12).margin(1e-14));
  };
  check(neg(x), [](double v) { return -v; });
  check(exp(x), [](double v) { return std::exp(v); });
  check(tanh(x), [](double v) { return std::tanh(v); });
  check(sigmoid(x), [](double v) { return 1 / (1 + std::exp(-v)); });
  check(relu(x), [](double v) { return v > 0 ? v : 0; });
  check(silu(x), [](double v) { return v / (1 + std::exp(-v)); });
  check(softplus(x), [](double v) { return std::log(1 + std::exp(v)); });
  check(gelu(x), [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  });
  Tensor p = rand({64}, 0.1, 3, DType::f64);
  std::vector<double> pv = p.to_vector<double>(), lv = log(p).to_vector<double>(), sv = sqrt(p).to_vector<double>(),
                      wv = pow(p, 1.5).to_vector<double>();
  for (size_t i = 0; i < pv.size(); ++i) {
    CHECK(lv[i] == Approx(std::log(pv[i])));
    CHECK(sv[i] == Approx(std::sqrt(pv[i])));
    CHECK(wv[i] == Approx(std::pow(pv[i], 1.5)));
  }
}

TEST_CASE("softplus and sigmoid do not overflow", "[ops]") {
  Tensor x = Tensor::from_vector<float>({-1000, -50, 0, 50, 1000}, {5});
  std::vector<float> sp = softplus(x).to_vector<float>(), sg = sigmoid(x).to_vector<float>();
  for (int i = 0; i < 5; ++i) {
    CHECK(std::isfinite(sp[i]));
    CHECK(std::isfinite(sg[i]));
  }
  CHECK(sp[4] == 1000.0f);
  CHECK(sp[0] == 0.0f);
  CHECK(sg[4] == 1.0f);
}

TEST_CASE("scalar operators", "[ops]") {
  Tensor x = Tensor::from_vector<float>({1, 2, 4}, {3});
  CHECK((x + 1.0).to_vector<float>() == std::vector<float>{2, 3, 5});
  CHECK((1.0 - x).to_vector<float>() == std::vector<float>{0, -1, -3});
  CHECK((x * 3.0).to_vector<float>() == std::vector<float>{3, 6, 12});
  CHECK((x / 2.0).to_vector<float>() == std::vector<float>{0.5f, 1, 2});
  CHECK((4.0 / x).to_vector<float>() == std::vector<float>{4, 2, 1});
  CHECK((-x).to_vector<float>() == std::vector<float>{-1, -2, -4});
}

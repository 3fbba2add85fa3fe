#include <cmath>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "ops/dropout/dropout_math.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::error_message;

TEST_CASE("dropout is reproducible from a seed", "[ops]") {
  Tensor x = Tensor::ones({1000});
  Generator g1(99), g2(99), g3(100);
  auto a = dropout(x, 0.3, true, g1).to_vector<float>();
  auto b = dropout(x, 0.3, true, g2).to_vector<float>();
  auto c = dropout(x, 0.3, true, g3).to_vector<float>();
  CHECK(a == b);
  CHECK(a != c);
  // The generator advances: a second call draws a new mask.
  CHECK(dropout(x, 0.3, true, g1).to_vector<float>() != a);
}

TEST_CASE("dropout's mask is the counter hash of one seed drawn per call", "[ops]") {
  // The CUDA path computes the same hash, so this pins both backends' masks.
  Tensor x = Tensor::ones({3, 70000});  // large enough to run threaded
  Generator gen(7), replay(7);
  auto y = dropout(x, 0.25, true, gen).to_vector<float>();
  const auto mask = dropout_rng::Mask::make(replay.next_u64(), 0.25);
  int64_t bad = 0;
  for (size_t i = 0; i < y.size(); ++i) bad += (y[i] == 0.0f) != mask.dropped(i);
  CHECK(bad == 0);
  CHECK(gen.next_u64() == replay.next_u64());
}

TEST_CASE("dropout zeroes about p of the elements and scales the rest", "[ops]") {
  Generator gen(1);
  Tensor x = rand({200000}, 0.5, 1.5, DType::f32, gen);
  auto xv = x.to_vector<float>();
  for (double p : {0.1, 0.5, 0.9}) {
    auto y = dropout(x, p, true, gen).to_vector<float>();
    int64_t zeros = 0, bad = 0;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    for (size_t i = 0; i < y.size(); ++i) {
      if (y[i] == 0) ++zeros;
      else bad += std::abs(y[i] - xv[i] * scale) > 1e-6f * std::abs(y[i]);
    }
    const double frac = static_cast<double>(zeros) / static_cast<double>(y.size());
    INFO("p " << p << " fraction of zeros " << frac);
    CHECK(std::abs(frac - p) < 0.01);
    CHECK(bad == 0);
  }
}

TEST_CASE("dropout is the identity in eval mode and for p = 0, p = 1 gives zeros", "[ops]") {
  Generator gen(2);
  Tensor x = randn({4, 5}, DType::f32, gen);
  auto xv = x.to_vector<float>();
  CHECK(dropout(x, 0.5, false, gen).to_vector<float>() == xv);
  CHECK(dropout(x, 0.0, true, gen).to_vector<float>() == xv);
  CHECK(dropout(x, 1.0, true, gen).to_vector<float>() == std::vector<float>(20, 0.0f));
  // Eval mode draws nothing from the generator.
  Generator a(3), b(3);
  dropout(x, 0.5, false, a);
  CHECK(a.next_u64() == b.next_u64());
}

TEST_CASE("dropout backward multiplies by the same mask and scale", "[ops]") {
  Generator gen(4);
  Tensor x = rand({500}, 1.0, 2.0, DType::f32, gen).set_requires_grad(true);
  const double p = 0.4;
  Tensor y = dropout(x, p, true, gen);
  Tensor g = Tensor::full({500}, 3.0);
  y.backward(g);
  auto yv = y.to_vector<float>(), gv = x.grad().to_vector<float>();
  int64_t bad = 0, dropped = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    float want = yv[i] == 0 ? 0.0f : static_cast<float>(3.0 / (1.0 - p));
    dropped += yv[i] == 0;
    bad += std::abs(gv[i] - want) > 1e-5f;
  }
  CHECK(dropped > 0);
  CHECK(bad == 0);
}

TEST_CASE("dropout rejects p outside 0..1", "[ops]") {
  Tensor x = Tensor::ones({3});
  for (double p : {-0.1, 1.5, std::nan("")}) {
    CHECK_THROWS_AS(dropout(x, p, true), loglin::Error);
    CHECK(error_message([&] { dropout(x, p, true); }).find("[dropout] p must be in [0, 1]") != std::string::npos);
  }
}

TEST_CASE("dropout passes gradcheck", "[ops]") {
  auto rows = run_gradcheck("dropout");
  CHECK(rows.size() >= 2);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": " << row.result.message);
    CHECK(row.result.passed);
  }
}

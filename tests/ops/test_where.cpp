#include <cmath>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::error_message;

TEST_CASE("where broadcasts cond, a and b", "[ops]") {
  Generator gen(3);
  // cond [3,1,1], a [1,4,1], b [4,5] -> out [3,4,5]
  Tensor cond = randint(0, 2, {3, 1, 1}, DType::i32, gen);
  Tensor a = randn({1, 4, 1}, DType::f32, gen);
  Tensor b = randn({4, 5}, DType::f32, gen);
  Tensor out = where(cond, a, b);
  REQUIRE(out.shape() == Shape{3, 4, 5});
  auto cv = cond.to_vector<int32_t>();
  auto av = a.to_vector<float>(), bv = b.to_vector<float>(), ov = out.to_vector<float>();
  int64_t bad = 0, trues = 0;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 5; ++k) {
        trues += cv[i] != 0;
        float want = cv[i] ? av[j] : bv[j * 5 + k];
        bad += ov[(i * 4 + j) * 5 + k] != want;
      }
  CHECK(bad == 0);
  CHECK(trues > 0);
  CHECK(trues < 60);
}

TEST_CASE("where takes float and i64 conditions (nonzero is true)", "[ops]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {4});
  Tensor b = Tensor::from_vector<float>({-1, -2, -3, -4}, {4});
  Tensor fc = Tensor::from_vector<float>({0.0f, -2.5f, 0.0f, 1e-30f}, {4});
  CHECK(where(fc, a, b).to_vector<float>() == std::vector<float>{-1, 2, -3, 4});
  Tensor ic = Tensor::from_vector<int64_t>({5, 0, 0, -1}, {4});
  CHECK(where(ic, a, b).to_vector<float>() == std::vector<float>{1, -2, -3, 4});
}

TEST_CASE("where and masked_fill on a large strided input", "[ops]") {
  // Large enough to take the threaded path; x is a transposed view.
  Generator gen(5);
  Tensor x = randn({300, 200}, DType::f32, gen).transpose(0, 1);  // [200, 300]
  Tensor mask = randint(0, 2, {200, 1}, DType::i64, gen);
  Tensor out = masked_fill(x, mask, 7.0);
  auto xv = x.to_vector<float>(), ov = out.to_vector<float>();
  auto mv = mask.to_vector<int64_t>();
  int64_t bad = 0;
  for (int i = 0; i < 200; ++i)
    for (int j = 0; j < 300; ++j) bad += ov[i * 300 + j] != (mv[i] ? 7.0f : xv[i * 300 + j]);
  CHECK(bad == 0);
}

TEST_CASE("where gradients go to a and b, summed over broadcasting", "[ops]") {
  Tensor cond = Tensor::from_vector<int32_t>({1, 0, 1}, {3, 1});
  Tensor a = Tensor::zeros({1, 2}).set_requires_grad(true);
  Tensor b = Tensor::zeros({3, 2}).set_requires_grad(true);
  Tensor w = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  sum(mul(where(cond, a, b), w)).backward();
  // rows 0 and 2 come from a: 1+5, 2+6; row 1 from b.
  CHECK(a.grad().to_vector<float>() == std::vector<float>{6, 8});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{0, 0, 3, 4, 0, 0});
}

TEST_CASE("masked_fill fills where the mask is set and blocks the gradient there", "[ops]") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).set_requires_grad(true);
  Tensor mask = Tensor::from_vector<int64_t>({0, 1, 0}, {3});
  Tensor out = masked_fill(x, mask, -INFINITY);
  auto ov = out.to_vector<float>();
  CHECK(ov[0] == 1);
  CHECK(std::isinf(ov[1]));
  CHECK(ov[1] < 0);
  CHECK(ov[5] == 6);
  sum(mul(masked_fill(x, mask, 0.0), Tensor::full({2, 3}, 2.0))).backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 0, 2, 2, 0, 2});
}

TEST_CASE("where and masked_fill errors", "[ops]") {
  Tensor a = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(where(Tensor::zeros({4}), a, a), loglin::Error);
  CHECK(contains(error_message([&] { where(Tensor::zeros({4}), a, a); }), "[where]"));
  CHECK(contains(error_message([&] { where(Tensor::zeros({3}), a, Tensor::zeros({2, 3}, DType::f64)); }),
                 "[where] dtypes"));
  CHECK(contains(
      error_message([&] { where(Tensor::zeros({3}), Tensor::zeros({3}, DType::i64), Tensor::zeros({3}, DType::i64)); }),
      "[where]"));
  // The mask may broadcast to x but must not make x bigger.
  CHECK_THROWS_AS(masked_fill(Tensor::zeros({3}), Tensor::zeros({2, 3}), 1.0), loglin::Error);
  CHECK(contains(error_message([&] { masked_fill(Tensor::zeros({3}), Tensor::zeros({2, 3}), 1.0); }),
                 "[masked_fill] mask of shape [2, 3] does not broadcast to x's shape [3]"));
}

TEST_CASE("where and masked_fill pass gradcheck", "[ops]") {
  for (const char* op : {"where", "masked_fill"}) {
    auto rows = run_gradcheck(op);
    CHECK(rows.size() >= 3);
    for (const auto& row : rows) {
      INFO(row.gcase->op << " " << row.gcase->label << ": " << row.result.message);
      CHECK(row.result.passed);
    }
  }
}

// The fused cross_entropy against the same loss built from primitive ops
// (max, exp, sum, log, a one-hot mask), forward and backward, plus
// ignore_index semantics, stability, errors and the gradcheck cases.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/node.h"
#include "catch.h"
#include "core/rng.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::all_finite;
using loglin_test::rel_err;

namespace {

Tensor leaf(const Tensor& t) { return core::contiguous_copy(t).set_requires_grad(true); }

double tol(DType dt) { return dt == DType::f32 ? 1e-5 : 1e-10; }

// -mean over counted rows of log_softmax(logits)[target], from primitives.
// The target is picked with a constant one-hot mask whose ignored rows are 0.
Tensor ref_cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  const int64_t C = logits.shape().back();
  std::vector<int64_t> t = targets.to_vector<int64_t>();
  std::vector<double> mask(t.size() * C, 0.0);
  int64_t count = 0;
  for (size_t r = 0; r < t.size(); ++r) {
    if (t[r] == ignore_index) continue;
    mask[r * C + t[r]] = 1.0;
    ++count;
  }
  Tensor onehot = Tensor::from_vector<double>(mask, logits.shape()).to(logits.dtype());
  Tensor z = logits - max(logits, -1, true);
  Tensor logp = z - log(sum(exp(z), {-1}, true));
  return neg(sum(logp * onehot)) / static_cast<double>(std::max<int64_t>(count, 1));
}

// Targets in [0, C), every `every`-th row (flat) set to ignore_index.
Tensor make_targets(Generator& gen, const Shape& shape, int64_t C, int64_t every, int64_t ignore_index, DType dt) {
  Tensor t = randint(0, C, shape, DType::i64, gen);
  int64_t* p = t.data<int64_t>();
  if (every > 0)
    for (int64_t r = 0; r < t.numel(); r += every) p[r] = ignore_index;
  return t.to(dt);
}

}  // namespace

TEST_CASE("cross_entropy matches the primitive reference", "[ops]") {
  struct Config {
    Shape logits;
    int64_t every;  // ignore every n-th row; 0: none
    int64_t ignore_index;
    DType target_dtype;
  };
  // The last shape is large enough for the parallel path.
  const std::vector<Config> configs = {{{4, 7}, 0, -100, DType::i64},
                                       {{9, 5}, 3, -100, DType::i64},
                                       {{2, 5, 7}, 4, -100, DType::i32},
                                       {{6, 4}, 2, 1, DType::i32},
                                       {{7}, 0, -100, DType::i64},
                                       {{300, 200}, 7, -100, DType::i64}};
  for (DType dt : {DType::f32, DType::f64})
    for (size_t i = 0; i < configs.size(); ++i) {
      const Config& c = configs[i];
      INFO("logits " << shape_str(c.logits) << " " << dtype_name(dt) << " ignore every " << c.every);
      Generator gen(200 + i);
      Tensor x0 = mul(randn(c.logits, dt, gen), 2.0);
      Shape ts(c.logits.begin(), c.logits.end() - 1);
      Tensor t = make_targets(gen, ts, c.logits.back(), c.every, c.ignore_index, c.target_dtype);
      Tensor xf = leaf(x0), xr = leaf(x0);
      Tensor lf = cross_entropy(xf, t, c.ignore_index);
      Tensor lr = ref_cross_entropy(xr, t, c.ignore_index);
      REQUIRE(lf.dim() == 0);
      CHECK(lf.dtype() == dt);
      CHECK(rel_err(lf, lr) < tol(dt));
      // An upstream gradient other than 1 must scale the result.
      mul(lf, 2.5).backward();
      mul(lr, 2.5).backward();
      REQUIRE(xf.grad().defined());
      CHECK(rel_err(xf.grad(), xr.grad()) < tol(dt));
    }
}

TEST_CASE("cross_entropy known values", "[ops]") {
  // Equal logits: the loss is log(C) whatever the target.
  Tensor x = Tensor::zeros({3, 4}, DType::f64);
  Tensor t = Tensor::from_vector<int64_t>({0, 3, 2}, {3});
  CHECK(std::abs(cross_entropy(x, t).item() - std::log(4.0)) < 1e-15);

  // Two rows with hand-computed losses; the mean is over both.
  Tensor y = Tensor::from_vector<double>({2, 0, 0, 0, 1, 0}, {2, 3});
  Tensor ty = Tensor::from_vector<int32_t>({0, 2}, {2});
  double l0 = -2 + std::log(std::exp(2.0) + 2);
  double l1 = std::log(std::exp(1.0) + 2);
  CHECK(std::abs(cross_entropy(y, ty).item() - (l0 + l1) / 2) < 1e-15);
}

TEST_CASE("cross_entropy with huge logits stays finite", "[ops]") {
  Generator gen(9);
  Tensor x = leaf(mul(randn({16, 40}, DType::f32, gen), 1e4));
  Tensor t = randint(0, 40, {16}, DType::i64, gen);
  Tensor loss = cross_entropy(x, t);
  CHECK(std::isfinite(loss.item()));
  loss.backward();
  CHECK(all_finite(x.grad()));

  // The same loss in f64 (the f32 inputs are exact in f64).
  Tensor x64 = x.detach().to(DType::f64);
  CHECK(std::abs(loss.item() - cross_entropy(x64, t).item()) / cross_entropy(x64, t).item() < 1e-6);

  // A confident right answer costs ~0, a confident wrong one ~1e4.
  Tensor z = Tensor::from_vector<float>({1e4f, 0, 0, 1e4f, 0, 0}, {2, 3});
  CHECK(std::abs(cross_entropy(z, Tensor::from_vector<int64_t>({0, 0}, {2})).item()) < 1e-6);
  CHECK(std::abs(cross_entropy(z, Tensor::from_vector<int64_t>({1, 1}, {2})).item() - 1e4) < 1e-2);
}

TEST_CASE("cross_entropy ignore_index semantics", "[ops]") {
  Generator gen(4);
  SECTION("every target ignored: loss 0, gradient 0") {
    Tensor x = leaf(randn({3, 5}, DType::f32, gen));
    Tensor t = Tensor::full({3}, -100, DType::i64);
    Tensor loss = cross_entropy(x, t);
    CHECK(loss.item() == 0.0);
    loss.backward();
    REQUIRE(x.grad().defined());
    for (double g : x.grad().to_vector<double>()) CHECK(g == 0.0);
  }
  SECTION("ignored rows get no gradient and do not count in the mean") {
    Tensor x0 = randn({4, 6}, DType::f64, gen);
    Tensor x = leaf(x0);
    Tensor t = Tensor::from_vector<int64_t>({2, -100, 5, -100}, {4});
    Tensor loss = cross_entropy(x, t);
    // Rows 0 and 2 alone give the same mean.
    Tensor kept = Tensor::from_vector<int64_t>({2, 5}, {2});
    Tensor rows02 = cat({x0.narrow(0, 0, 1), x0.narrow(0, 2, 1)}, 0);
    CHECK(std::abs(loss.item() - cross_entropy(rows02, kept).item()) < 1e-14);
    loss.backward();
    std::vector<double> g = x.grad().to_vector<double>();
    for (int64_t c = 0; c < 6; ++c) {
      CHECK(g[1 * 6 + c] == 0.0);
      CHECK(g[3 * 6 + c] == 0.0);
    }
    CHECK(g[0 * 6 + 2] < 0.0);  // softmax - 1 at the target
  }
  SECTION("a custom ignore_index; -100 is then an error") {
    Tensor x = randn({2, 3}, DType::f32, gen);
    CHECK(cross_entropy(x, Tensor::from_vector<int32_t>({7, 7}, {2}), 7).item() == 0.0);
    CHECK_THROWS_AS(cross_entropy(x, Tensor::from_vector<int32_t>({-100, 0}, {2}), 7), loglin::Error);
  }
}

TEST_CASE("cross_entropy errors name the op and the bad value", "[ops]") {
  Tensor x = Tensor::zeros({5, 10});
  Tensor t = Tensor::from_vector<int64_t>({0, 1, 2, 12, 4}, {5});
  CHECK_THROWS_AS(cross_entropy(x, t), loglin::Error);
  try {
    cross_entropy(x, t);
    FAIL("no error for a target out of range");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[cross_entropy] target 12 out of range for 10 classes (row 3)") !=
          std::string::npos);
  }
  try {
    cross_entropy(x, Tensor::from_vector<int64_t>({0, -1, 0, 0, 0}, {5}));
    FAIL("no error for a negative target");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("target -1 out of range") != std::string::npos);
  }
  try {
    cross_entropy(x, Tensor::zeros({4}, DType::i64));
    FAIL("no error for targets of the wrong shape");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[cross_entropy] targets have shape [4], expected [5]") != std::string::npos);
  }
  try {
    cross_entropy(x, Tensor::zeros({5}, DType::f32));
    FAIL("no error for float targets");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[cross_entropy]") != std::string::npos);
  }
}

TEST_CASE("cross_entropy backward frees its graph (no reference cycle)", "[ops]") {
  Generator gen(6);
  Tensor x = leaf(randn({3, 4}, DType::f32, gen));
  Tensor t = randint(0, 4, {3}, DType::i64, gen);
  std::weak_ptr<autograd::Node> node;
  {
    Tensor loss = cross_entropy(x, t);
    node = loss.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("cross_entropy passes gradcheck", "[ops][gradcheck]") {
  auto rows = run_gradcheck("cross_entropy");
  REQUIRE(rows.size() >= 3);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": max abs err " << row.result.max_abs_err << " " << row.result.message);
    REQUIRE(row.result.passed);
  }
}

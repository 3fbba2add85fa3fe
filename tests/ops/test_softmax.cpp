// The fused softmax / log_softmax against the same functions built from
// primitive ops (exp, max, sum, div, log), forward and backward, plus
// stability, errors and the gradcheck cases.
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

Tensor ref_softmax(const Tensor& x, int64_t dim, bool take_log) {
  Tensor z = x - max(x, dim, true);
  Tensor s = sum(exp(z), {dim}, true);
  return take_log ? z - log(s) : exp(z) / s;
}

double tol(DType dt) { return dt == DType::f32 ? 1e-5 : 1e-10; }

void check_against_reference(const Shape& shape, int64_t dim, DType dt, bool take_log, uint64_t seed) {
  Generator gen(seed);
  Tensor x0 = mul(randn(shape, dt, gen), 3.0);
  Tensor r = randn(shape, dt, gen);
  Tensor xf = leaf(x0), xr = leaf(x0);
  Tensor yf = take_log ? log_softmax(xf, dim) : softmax(xf, dim);
  Tensor yr = ref_softmax(xr, dim, take_log);
  REQUIRE(yf.shape() == shape);
  CHECK(rel_err(yf, yr) < tol(dt));
  yf.backward(r);
  yr.backward(r);
  REQUIRE(xf.grad().defined());
  CHECK(rel_err(xf.grad(), xr.grad()) < tol(dt));
}

}  // namespace

TEST_CASE("softmax and log_softmax match the primitive reference", "[ops]") {
  // Small shapes over every dim position, then sizes that take the parallel
  // paths (and, for a middle dim, more inner columns than one tile).
  const std::vector<std::pair<Shape, int64_t>> configs = {
      {{4, 7}, -1}, {{6, 3}, 0}, {{3, 5, 4}, 1}, {{2, 3, 4}, 0}, {{9}, 0}, {{1, 1}, -1},
      {{130, 300}, -1}, {{5, 200, 70}, 1}, {{300, 130}, 0}};
  for (DType dt : {DType::f32, DType::f64})
    for (bool take_log : {false, true})
      for (size_t i = 0; i < configs.size(); ++i) {
        const auto& [shape, dim] = configs[i];
        INFO((take_log ? "log_softmax " : "softmax ") << shape_str(shape) << " dim " << dim << " "
                                                      << dtype_name(dt));
        check_against_reference(shape, dim, dt, take_log, 100 + i);
      }
}

TEST_CASE("softmax known values and row sums", "[ops]") {
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 0, 0, 0}, {2, 3});
  std::vector<double> y = softmax(x).to_vector<double>();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(std::abs(y[0] - std::exp(1.0) / z) < 1e-15);
  CHECK(std::abs(y[2] - std::exp(3.0) / z) < 1e-15);
  CHECK(std::abs(y[4] - 1.0 / 3.0) < 1e-15);
  std::vector<double> ly = log_softmax(x).to_vector<double>();
  CHECK(std::abs(ly[1] - (2.0 - std::log(z))) < 1e-14);
  CHECK(std::abs(ly[5] + std::log(3.0)) < 1e-15);

  // Columns of a softmax over dim 0 sum to 1.
  Generator gen(7);
  Tensor s = softmax(randn({5, 6}, DType::f32, gen), 0);
  std::vector<double> cols = sum(s, {0}).to_vector<double>();
  for (double c : cols) CHECK(std::abs(c - 1.0) < 1e-6);
}

TEST_CASE("softmax of huge logits stays finite", "[ops]") {
  Generator gen(3);
  Tensor x = leaf(mul(randn({8, 50}, DType::f32, gen), 1e4));
  Tensor y = softmax(x);
  Tensor ly = log_softmax(x);
  CHECK(all_finite(y));
  CHECK(all_finite(ly));
  for (double s : sum(y, {-1}).to_vector<double>()) CHECK(std::abs(s - 1.0) < 1e-5);
  Tensor r = randn({8, 50}, DType::f32, gen);
  y.backward(r);
  CHECK(all_finite(x.grad()));

  // exp(1e4) overflows f32; a max-subtracted softmax sees only the offsets.
  Tensor big = Tensor::from_vector<float>({1e4f, 1e4f - 1, 1e4f - 2}, {3});
  Tensor small = Tensor::from_vector<float>({0, -1, -2}, {3});
  CHECK(rel_err(softmax(big), softmax(small)) < 1e-6);
  CHECK(rel_err(log_softmax(big), log_softmax(small)) < 1e-6);
}

TEST_CASE("softmax of a non-contiguous view equals that of a copy", "[ops]") {
  Generator gen(11);
  Tensor x = randn({6, 4}, DType::f64, gen);
  Tensor xt = x.transpose(0, 1);
  REQUIRE_FALSE(xt.is_contiguous());
  CHECK(rel_err(softmax(xt, -1), softmax(xt.contiguous(), -1)) < 1e-15);
  CHECK(rel_err(log_softmax(xt, 0), log_softmax(xt.contiguous(), 0)) < 1e-15);
}

TEST_CASE("softmax backward frees its graph (no reference cycle)", "[ops]") {
  Generator gen(5);
  Tensor x = leaf(randn({3, 4}, DType::f32, gen));
  std::weak_ptr<autograd::Node> node;
  {
    Tensor y = softmax(x);
    node = y.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("softmax errors name the op", "[ops]") {
  Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(softmax(x, 2), loglin::Error);
  try {
    softmax(x, 2);
    FAIL("no error for dim 2 of a 2-D tensor");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[softmax]") != std::string::npos);
  }
  try {
    log_softmax(Tensor::arange(4), 0);
    FAIL("no error for an integer tensor");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[log_softmax]") != std::string::npos);
  }
}

TEST_CASE("softmax and log_softmax pass gradcheck", "[ops][gradcheck]") {
  for (const char* op : {"softmax", "log_softmax"}) {
    auto rows = run_gradcheck(op);
    REQUIRE(rows.size() >= 4);
    for (const auto& row : rows) {
      INFO(op << " " << row.gcase->label << ": max abs err " << row.result.max_abs_err << " " << row.result.message);
      REQUIRE(row.result.passed);
    }
  }
}

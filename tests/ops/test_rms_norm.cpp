// The fused rms_norm against the same function built from primitive ops
// (mul, mean, sqrt, div), forward and backward for x and weight, plus known
// values, stability, errors and the gradcheck cases.
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

Tensor ref_rms_norm(const Tensor& x, const Tensor& w, double eps) {
  Tensor y = x / sqrt(mean(x * x, {-1}, true) + eps);
  return w.defined() ? y * w : y;
}

}  // namespace

TEST_CASE("rms_norm matches the primitive reference", "[ops]") {
  // The last shape is large enough for the parallel path and more row
  // blocks than one per thread in the weight gradient.
  const std::vector<Shape> shapes = {{4, 8}, {2, 3, 16}, {1, 5}, {7}, {256, 256}};
  for (DType dt : {DType::f32, DType::f64})
    for (bool with_weight : {true, false})
      for (size_t i = 0; i < shapes.size(); ++i) {
        const Shape& s = shapes[i];
        INFO(shape_str(s) << " " << dtype_name(dt) << (with_weight ? " with weight" : " no weight"));
        Generator gen(300 + i);
        Tensor x0 = add(mul(randn(s, dt, gen), 2.0), 0.5);
        Tensor w0 = add(randn({s.back()}, dt, gen), 1.0);
        Tensor r = randn(s, dt, gen);
        Tensor xf = leaf(x0), xr = leaf(x0);
        Tensor wf = with_weight ? leaf(w0) : Tensor(), wr = with_weight ? leaf(w0) : Tensor();
        Tensor yf = rms_norm(xf, wf, 1e-5);
        Tensor yr = ref_rms_norm(xr, wr, 1e-5);
        REQUIRE(yf.shape() == s);
        CHECK(rel_err(yf, yr) < tol(dt));
        yf.backward(r);
        yr.backward(r);
        REQUIRE(xf.grad().defined());
        CHECK(rel_err(xf.grad(), xr.grad()) < tol(dt));
        if (with_weight) {
          REQUIRE(wf.grad().defined());
          CHECK(rel_err(wf.grad(), wr.grad()) < tol(dt));
        }
      }
}

TEST_CASE("rms_norm known values", "[ops]") {
  // rms([3, 4]) = sqrt(12.5).
  Tensor x = Tensor::from_vector<double>({3, 4}, {1, 2});
  Tensor w = Tensor::from_vector<double>({1, -2}, {2});
  std::vector<double> y = rms_norm(x, w, 0.0).to_vector<double>();
  const double rms = std::sqrt(12.5);
  CHECK(std::abs(y[0] - 3 / rms) < 1e-15);
  CHECK(std::abs(y[1] + 8 / rms) < 1e-15);
  // eps enters under the square root.
  std::vector<double> ye = rms_norm(x, Tensor(), 0.5).to_vector<double>();
  CHECK(std::abs(ye[0] - 3 / std::sqrt(13.0)) < 1e-15);
}

TEST_CASE("rms_norm gradients go only where asked", "[ops]") {
  Generator gen(8);
  Tensor x0 = randn({5, 6}, DType::f64, gen);
  Tensor w = leaf(randn({6}, DType::f64, gen));
  Tensor r = randn({5, 6}, DType::f64, gen);
  rms_norm(x0, w).backward(r);
  CHECK_FALSE(x0.grad().defined());
  REQUIRE(w.grad().defined());
  Tensor wr = leaf(w.detach());
  ref_rms_norm(x0, wr, 1e-5).backward(r);
  CHECK(rel_err(w.grad(), wr.grad()) < 1e-12);
}

TEST_CASE("rms_norm of huge and tiny f32 rows stays accurate", "[ops]") {
  // Squares of 1e20 overflow f32: the mean of squares is accumulated wider.
  Generator gen(10);
  Tensor x = randn({4, 32}, DType::f32, gen);
  Tensor expected = rms_norm(x, Tensor(), 0.0);
  Tensor big = rms_norm(mul(x, 1e20), Tensor(), 0.0);
  CHECK(all_finite(big));
  CHECK(rel_err(big, expected) < 1e-6);
  Tensor tiny = rms_norm(mul(x, 1e-20), Tensor(), 0.0);
  CHECK(all_finite(tiny));
  CHECK(rel_err(tiny, expected) < 1e-6);
}

TEST_CASE("rms_norm errors name the op and the shapes", "[ops]") {
  Tensor x = Tensor::zeros({3, 8});
  Tensor w = Tensor::ones({7});
  CHECK_THROWS_AS(rms_norm(x, w), loglin::Error);
  try {
    rms_norm(x, w);
    FAIL("no error for a weight of the wrong size");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[rms_norm] weight has shape [7], expected [8] (the last dim of x)") !=
          std::string::npos);
  }
  try {
    rms_norm(x, Tensor::ones({8}, DType::f64));
    FAIL("no error for a weight of another dtype");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[rms_norm]") != std::string::npos);
  }
}

TEST_CASE("rms_norm backward frees its graph (no reference cycle)", "[ops]") {
  Generator gen(12);
  Tensor x = leaf(randn({3, 4}, DType::f32, gen));
  Tensor w = leaf(randn({4}, DType::f32, gen));
  std::weak_ptr<autograd::Node> node;
  {
    Tensor y = rms_norm(x, w);
    node = y.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("rms_norm passes gradcheck", "[ops][gradcheck]") {
  auto rows = run_gradcheck("rms_norm");
  REQUIRE(rows.size() >= 2);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": max abs err " << row.result.max_abs_err << " " << row.result.message);
    REQUIRE(row.result.passed);
  }
}

// The fused layer_norm against the same function built from primitive ops
// (mean, sub, mul, sqrt, div, add), forward and backward for x, weight and
// bias, plus known values, stability, errors and the gradcheck cases.
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
using loglin_test::rel_err;

namespace {

Tensor leaf(const Tensor& t) { return core::contiguous_copy(t).set_requires_grad(true); }

double tol(DType dt) { return dt == DType::f32 ? 1e-5 : 1e-10; }

Tensor ref_layer_norm(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  Tensor xc = x - mean(x, {-1}, true);
  Tensor y = xc / sqrt(mean(xc * xc, {-1}, true) + eps);
  if (w.defined()) y = y * w;
  if (b.defined()) y = y + b;
  return y;
}

}  // namespace

TEST_CASE("layer_norm matches the primitive reference", "[ops]") {
  const std::vector<Shape> shapes = {{4, 8}, {2, 3, 16}, {1, 5}, {7}, {256, 256}};
  for (DType dt : {DType::f32, DType::f64})
    for (int params = 0; params < 4; ++params)
      for (size_t i = 0; i < shapes.size(); ++i) {
        const bool with_w = params & 1, with_b = params & 2;
        const Shape& s = shapes[i];
        INFO(shape_str(s) << " " << dtype_name(dt) << " weight " << with_w << " bias " << with_b);
        Generator gen(400 + i);
        Tensor x0 = add(mul(randn(s, dt, gen), 2.0), 0.5);
        Tensor w0 = add(randn({s.back()}, dt, gen), 1.0);
        Tensor b0 = randn({s.back()}, dt, gen);
        Tensor r = randn(s, dt, gen);
        Tensor xf = leaf(x0), xr = leaf(x0);
        Tensor wf = with_w ? leaf(w0) : Tensor(), wr = with_w ? leaf(w0) : Tensor();
        Tensor bf = with_b ? leaf(b0) : Tensor(), br = with_b ? leaf(b0) : Tensor();
        Tensor yf = layer_norm(xf, wf, bf, 1e-5);
        Tensor yr = ref_layer_norm(xr, wr, br, 1e-5);
        REQUIRE(yf.shape() == s);
        CHECK(rel_err(yf, yr) < tol(dt));
        yf.backward(r);
        yr.backward(r);
        REQUIRE(xf.grad().defined());
        CHECK(rel_err(xf.grad(), xr.grad()) < tol(dt));
        if (with_w) {
          REQUIRE(wf.grad().defined());
          CHECK(rel_err(wf.grad(), wr.grad()) < tol(dt));
        }
        if (with_b) {
          REQUIRE(bf.grad().defined());
          CHECK(rel_err(bf.grad(), br.grad()) < tol(dt));
        }
      }
}

TEST_CASE("layer_norm known values", "[ops]") {
  // [1, 2, 3, 4]: mean 2.5, biased variance 1.25.
  Tensor x = Tensor::from_vector<double>({1, 2, 3, 4}, {1, 4});
  Tensor w = Tensor::from_vector<double>({1, 1, 2, 2}, {4});
  Tensor b = Tensor::from_vector<double>({0, 10, 0, 10}, {4});
  std::vector<double> y = layer_norm(x, w, b, 0.0).to_vector<double>();
  const double s = std::sqrt(1.25);
  CHECK(std::abs(y[0] - (-1.5 / s)) < 1e-15);
  CHECK(std::abs(y[1] - (-0.5 / s + 10)) < 1e-14);
  CHECK(std::abs(y[3] - (2 * 1.5 / s + 10)) < 1e-14);
  // Each normalised row has mean 0 and variance 1 (up to eps).
  Generator gen(13);
  Tensor z = layer_norm(randn({6, 50}, DType::f64, gen), Tensor(), Tensor(), 0.0);
  for (double m : mean(z, {-1}).to_vector<double>()) CHECK(std::abs(m) < 1e-14);
  for (double v : mean(z * z, {-1}).to_vector<double>()) CHECK(std::abs(v - 1) < 1e-13);
}

TEST_CASE("layer_norm of rows far from zero keeps their spread", "[ops]") {
  // A large mean with a unit spread: a one-pass E[x^2] - E[x]^2 variance in
  // f32 loses every digit here; the result must match f64 on the same values.
  Generator gen(14);
  Tensor x = add(randn({8, 64}, DType::f32, gen), 1e4);
  Tensor y32 = layer_norm(x, Tensor(), Tensor());
  Tensor y64 = layer_norm(x.to(DType::f64), Tensor(), Tensor());
  CHECK(rel_err(y32, y64) < 1e-5);
}

TEST_CASE("layer_norm gradients go only where asked", "[ops]") {
  Generator gen(15);
  Tensor x0 = randn({5, 6}, DType::f64, gen);
  Tensor w0 = randn({6}, DType::f64, gen);
  Tensor b = leaf(randn({6}, DType::f64, gen));
  Tensor r = randn({5, 6}, DType::f64, gen);
  layer_norm(x0, w0, b).backward(r);
  CHECK_FALSE(x0.grad().defined());
  CHECK_FALSE(w0.grad().defined());
  REQUIRE(b.grad().defined());
  CHECK(rel_err(b.grad(), sum(r, {0})) < 1e-14);
}

TEST_CASE("layer_norm errors name the op and the shapes", "[ops]") {
  Tensor x = Tensor::zeros({3, 8});
  CHECK_THROWS_AS(layer_norm(x, Tensor::ones({7}), Tensor()), loglin::Error);
  try {
    layer_norm(x, Tensor::ones({7}), Tensor());
    FAIL("no error for a weight of the wrong size");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[layer_norm] weight has shape [7], expected [8] (the last dim of x)") !=
          std::string::npos);
  }
  try {
    layer_norm(x, Tensor(), Tensor::ones({2, 4}));
    FAIL("no error for a bias of the wrong shape");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[layer_norm] bias has shape [2, 4], expected [8]") != std::string::npos);
  }
  try {
    layer_norm(Tensor::zeros({3, 0}), Tensor(), Tensor());
    FAIL("no error for an empty last dim");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[layer_norm]") != std::string::npos);
  }
}

TEST_CASE("layer_norm backward frees its graph (no reference cycle)", "[ops]") {
  Generator gen(16);
  Tensor x = leaf(randn({3, 4}, DType::f32, gen));
  Tensor w = leaf(randn({4}, DType::f32, gen));
  Tensor b = leaf(randn({4}, DType::f32, gen));
  std::weak_ptr<autograd::Node> node;
  {
    Tensor y = layer_norm(x, w, b);
    node = y.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("layer_norm passes gradcheck", "[ops][gradcheck]") {
  auto rows = run_gradcheck("layer_norm");
  REQUIRE(rows.size() >= 4);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": max abs err " << row.result.max_abs_err << " " << row.result.message);
    REQUIRE(row.result.passed);
  }
}

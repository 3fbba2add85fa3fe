// The fused rms_norm_gated against the same function built from primitive
// ops (x / sqrt(mean(x * x) + eps) * w * silu(z)), forward and the gradients
// of x, z and weight, with z contiguous and as a strided slice of a wider
// tensor (Mamba-2's case); plus known values, which gradients are made,
// errors and the gradcheck cases.
#include <cmath>
#include <functional>
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

Tensor ref_rms_norm_gated(const Tensor& x, const Tensor& z, const Tensor& w, double eps) {
  Tensor y = x / sqrt(mean(x * x, {-1}, true) + eps);
  if (w.defined()) y = y * w;
  return y * silu(z);
}

// z for x of shape s: the whole of zw (contiguous), or zw[..., 5:5 + D] of a
// zw that is 13 wider in the last dim (rows evenly spaced, D + 13 apart).
Shape z_source_shape(const Shape& s, bool strided) {
  Shape zs = s;
  if (strided) zs.back() += 13;
  return zs;
}
Tensor z_of(const Tensor& zw, int64_t D, bool strided) { return strided ? zw.narrow(-1, 5, D) : zw; }

}  // namespace

TEST_CASE("rms_norm_gated matches rms_norm times silu from primitives, forward and gradients", "[ops]") {
  // Odd D (37), Mamba-2's d_inner (1536), and 256 x 256 for the parallel path
  // and more row blocks than one per thread in the weight gradient.
  const std::vector<Shape> shapes = {{4, 8}, {2, 3, 37}, {1, 5}, {7}, {6, 1536}, {256, 256}};
  uint64_t seed = 500;
  for (DType dt : {DType::f32, DType::f64})
    for (bool with_weight : {true, false})
      for (bool strided : {false, true})
        for (const Shape& s : shapes) {
          INFO(shape_str(s) << " " << dtype_name(dt) << (with_weight ? " with weight" : " no weight")
                            << (strided ? ", z a strided slice" : ", z contiguous"));
          const int64_t D = s.back();
          Generator gen(++seed);
          Tensor x0 = add(mul(randn(s, dt, gen), 2.0), 0.5);
          Tensor zw0 = mul(randn(z_source_shape(s, strided), dt, gen), 2.0);
          Tensor w0 = add(randn({D}, dt, gen), 1.0);
          Tensor r = randn(s, dt, gen);
          Tensor xf = leaf(x0), xr = leaf(x0), zwf = leaf(zw0), zwr = leaf(zw0);
          Tensor wf = with_weight ? leaf(w0) : Tensor(), wr = with_weight ? leaf(w0) : Tensor();
          Tensor zf = z_of(zwf, D, strided);
          if (strided && x0.numel() > D) REQUIRE_FALSE(zf.is_contiguous());  // one row is contiguous anyway
          Tensor yf = rms_norm_gated(xf, zf, wf, 1e-5);
          Tensor yr = ref_rms_norm_gated(xr, z_of(zwr, D, strided), wr, 1e-5);
          REQUIRE(yf.shape() == s);
          CHECK(rel_err(yf, yr) < tol(dt));
          yf.backward(r);
          yr.backward(r);
          REQUIRE(xf.grad().defined());
          REQUIRE(zwf.grad().defined());
          CHECK(rel_err(xf.grad(), xr.grad()) < tol(dt));
          CHECK(rel_err(zwf.grad(), zwr.grad()) < tol(dt));  // zero outside the slice in both
          if (with_weight) {
            REQUIRE(wf.grad().defined());
            CHECK(rel_err(wf.grad(), wr.grad()) < tol(dt));
          }
        }
}

TEST_CASE("rms_norm_gated gives the same bits for a strided z as for its copy", "[ops]") {
  // z read in place with a row stride (a slice of the last dim), or copied
  // first (a slice of a middle dim, a transposed z): one answer, and one
  // gradient, which reaches the base of the view.
  struct ZCase {
    const char* what;
    Shape base;
    std::function<Tensor(const Tensor&)> view;
  };
  const std::vector<ZCase> cases = {
      {"last-dim slice", {3, 4, 50}, [](const Tensor& b) { return b.narrow(-1, 13, 37); }},
      {"middle-dim slice", {3, 6, 37}, [](const Tensor& b) { return b.narrow(1, 1, 4); }},
      {"transposed", {3, 37, 4}, [](const Tensor& b) { return b.transpose(1, 2); }},
  };
  Generator gen(21);
  const Shape s{3, 4, 37};
  Tensor x0 = randn(s, DType::f32, gen), w0 = randn({37}, DType::f32, gen), r = randn(s, DType::f32, gen);
  for (const ZCase& c : cases) {
    INFO(c.what);
    Tensor base = leaf(randn(c.base, DType::f32, gen));
    Tensor z = c.view(base);
    REQUIRE(z.shape() == s);
    REQUIRE_FALSE(z.is_contiguous());
    Tensor zc = leaf(z.detach().contiguous());
    Tensor xa = leaf(x0), xb = leaf(x0), wa = leaf(w0), wb = leaf(w0);
    Tensor a = rms_norm_gated(xa, z, wa), b = rms_norm_gated(xb, zc, wb);
    CHECK(a.to_vector<float>() == b.to_vector<float>());
    a.backward(r);
    b.backward(r);
    REQUIRE(base.grad().defined());
    CHECK(c.view(base.grad()).to_vector<float>() == zc.grad().to_vector<float>());
    CHECK(xa.grad().to_vector<float>() == xb.grad().to_vector<float>());
    CHECK(wa.grad().to_vector<float>() == wb.grad().to_vector<float>());
  }
}

TEST_CASE("rms_norm_gated known values", "[ops]") {
  // rms([3, 4]) = sqrt(12.5); silu(0) = 0, silu(2) = 2 / (1 + e^-2).
  Tensor x = Tensor::from_vector<double>({3, 4}, {1, 2});
  Tensor z = Tensor::from_vector<double>({0, 2}, {1, 2});
  Tensor w = Tensor::from_vector<double>({1, -2}, {2});
  std::vector<double> y = rms_norm_gated(x, z, w, 0.0).to_vector<double>();
  const double rms = std::sqrt(12.5), silu2 = 2 / (1 + std::exp(-2.0));
  CHECK(std::abs(y[0]) < 1e-15);
  CHECK(std::abs(y[1] + 8 / rms * silu2) < 1e-15);
  // eps enters under the square root; no weight means a scale of 1.
  std::vector<double> ye = rms_norm_gated(x, z, Tensor(), 0.5).to_vector<double>();
  CHECK(std::abs(ye[1] - 4 / std::sqrt(13.0) * silu2) < 1e-15);
}

TEST_CASE("rms_norm_gated of no rows gives empty gradients and a zero weight gradient", "[ops]") {
  Tensor x = leaf(Tensor::zeros({0, 4})), zw = leaf(Tensor::zeros({0, 6})), w = leaf(Tensor::ones({4}));
  Tensor y = rms_norm_gated(x, zw.narrow(-1, 1, 4), w);
  REQUIRE(y.shape() == Shape{0, 4});
  y.backward(Tensor::zeros({0, 4}));
  REQUIRE(w.grad().defined());
  CHECK(w.grad().to_vector<float>() == std::vector<float>(4, 0.0f));
  CHECK(x.grad().numel() == 0);
  CHECK(zw.grad().numel() == 0);
}

TEST_CASE("rms_norm_gated gradients go only where asked", "[ops]") {
  Generator gen(8);
  Tensor x0 = randn({5, 6}, DType::f64, gen), z0 = randn({5, 6}, DType::f64, gen);
  Tensor w0 = randn({6}, DType::f64, gen), r = randn({5, 6}, DType::f64, gen);
  for (int asked = 1; asked < 8; ++asked) {
    INFO("x " << (asked & 1) << ", z " << (asked & 2) << ", weight " << (asked & 4));
    Tensor x = asked & 1 ? leaf(x0) : x0, z = asked & 2 ? leaf(z0) : z0, w = asked & 4 ? leaf(w0) : w0;
    rms_norm_gated(x, z, w).backward(r);
    Tensor xr = leaf(x0), zr = leaf(z0), wr = leaf(w0);
    ref_rms_norm_gated(xr, zr, wr, 1e-5).backward(r);
    CHECK(x.grad().defined() == bool(asked & 1));
    CHECK(z.grad().defined() == bool(asked & 2));
    CHECK(w.grad().defined() == bool(asked & 4));
    if (asked & 1) CHECK(rel_err(x.grad(), xr.grad()) < 1e-12);
    if (asked & 2) CHECK(rel_err(z.grad(), zr.grad()) < 1e-12);
    if (asked & 4) CHECK(rel_err(w.grad(), wr.grad()) < 1e-12);
  }
}

TEST_CASE("rms_norm_gated errors name the op and the problem", "[ops]") {
  Tensor x = Tensor::ones({3, 8}), z = Tensor::ones({3, 8}), w = Tensor::ones({8});
  LL_CHECK_ERROR(rms_norm_gated(x, Tensor::ones({3, 7}), w),
                 "[rms_norm_gated] z has shape [3, 7] but x has shape [3, 8]");
  LL_CHECK_ERROR(rms_norm_gated(x, Tensor::ones({8}), w), "[rms_norm_gated] z has shape [8] but x has shape [3, 8]");
  LL_CHECK_ERROR(rms_norm_gated(x, z, Tensor::ones({7})),
                 "[rms_norm_gated] weight has shape [7], expected [8] (the last dim of x)");
  LL_CHECK_ERROR(rms_norm_gated(x, Tensor::ones({3, 8}, DType::f64), w), "[rms_norm_gated] dtypes f32 and f64 differ");
  LL_CHECK_ERROR(rms_norm_gated(x, z, Tensor::ones({8}, DType::f64)), "[rms_norm_gated] dtypes f32 and f64 differ");
  LL_CHECK_ERROR(rms_norm_gated(x, Tensor(), w), "[rms_norm_gated] an input tensor is undefined");
  LL_CHECK_ERROR(rms_norm_gated(Tensor::ones({3, 0}), Tensor::ones({3, 0}), Tensor()),
                 "[rms_norm_gated] x must have a non-empty last dim");
  LL_CHECK_ERROR(rms_norm_gated(x, z, w, -1.0), "[rms_norm_gated] eps must be >= 0");
  // bf16 x and z compute in f32 (test_bf16_ops.cpp); mixed with f32 they are an error.
  LL_CHECK_ERROR(rms_norm_gated(x.to(DType::bf16), z, Tensor()), "[rms_norm_gated] dtypes bf16 and f32 differ");
}

TEST_CASE("rms_norm_gated backward frees its graph (no reference cycle)", "[ops]") {
  Generator gen(12);
  Tensor x = leaf(randn({3, 4}, DType::f32, gen));
  Tensor zw = leaf(randn({3, 9}, DType::f32, gen));
  Tensor w = leaf(randn({4}, DType::f32, gen));
  std::weak_ptr<autograd::Node> node;
  {
    Tensor y = rms_norm_gated(x, zw.narrow(-1, 2, 4), w);
    node = y.grad_fn();
    REQUIRE_FALSE(node.expired());
  }
  CHECK(node.expired());
}

TEST_CASE("rms_norm_gated passes gradcheck", "[ops][gradcheck]") {
  auto rows = run_gradcheck("rms_norm_gated");
  REQUIRE(rows.size() >= 4);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": max abs err " << row.result.max_abs_err << " " << row.result.message);
    REQUIRE(row.result.passed);
  }
}

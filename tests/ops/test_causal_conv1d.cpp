// causal_conv1d on the CPU: the definition, strided inputs (read in place
// when the rows have one stride, else copied), causality, gradients against
// loops, the fused silu against silu(conv) built from primitives, shape
// errors and the registered gradcheck cases.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

struct Dims {
  int64_t B, T, C, W;
};

// The definition, in double: out[b,t,c] = bias[c] + sum_j w[c,j] x[b,t-(W-1)+j,c].
std::vector<double> conv_loop(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                              Dims d) {
  std::vector<double> out(d.B * d.T * d.C);
  for (int64_t bb = 0; bb < d.B; ++bb)
    for (int64_t t = 0; t < d.T; ++t)
      for (int64_t c = 0; c < d.C; ++c) {
        double acc = b.empty() ? 0.0 : b[c];
        for (int64_t j = 0; j < d.W; ++j) {
          int64_t s = t - (d.W - 1) + j;
          if (s >= 0) acc += w[c * d.W + j] * x[(bb * d.T + s) * d.C + c];
        }
        out[(bb * d.T + t) * d.C + c] = acc;
      }
  return out;
}

double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

}  // namespace

TEST_CASE("causal_conv1d matches the definition", "[ops]") {
  Generator gen(21);
  // Typical, one tap, T < W, and one large enough for the threaded loops.
  for (Dims d : {Dims{2, 7, 5, 4}, Dims{3, 5, 4, 1}, Dims{2, 2, 3, 4}, Dims{4, 256, 64, 4}}) {
    for (bool with_bias : {true, false}) {
      Tensor x = randn({d.B, d.T, d.C}, DType::f32, gen);
      Tensor w = randn({d.C, d.W}, DType::f32, gen);
      Tensor b = with_bias ? randn({d.C}, DType::f32, gen) : Tensor();
      Tensor out = causal_conv1d(x, w, b);
      REQUIRE(out.shape() == Shape{d.B, d.T, d.C});
      auto want = conv_loop(x.to_vector<double>(), w.to_vector<double>(),
                            with_bias ? b.to_vector<double>() : std::vector<double>{}, d);
      INFO("B " << d.B << " T " << d.T << " C " << d.C << " W " << d.W << " bias " << with_bias);
      CHECK(rel_err(out.to_vector<double>(), want) < 1e-6);
    }
  }
}

TEST_CASE("causal_conv1d reads strided inputs", "[ops]") {
  Generator gen(22);
  Dims d{2, 6, 3, 3};
  Tensor x = randn({d.B, d.C, d.T}, DType::f64, gen).transpose(1, 2);  // [B,T,C], not contiguous
  Tensor w = randn({d.W, d.C}, DType::f64, gen).transpose(0, 1);       // [C,W], not contiguous
  Tensor out = causal_conv1d(x, w, Tensor());
  CHECK(rel_err(out.to_vector<double>(), conv_loop(x.to_vector<double>(), w.to_vector<double>(), {}, d)) < 1e-14);
}

TEST_CASE("causal_conv1d is causal: x at time t changes no output before t", "[ops]") {
  Generator gen(23);
  const int64_t B = 2, T = 9, C = 4, W = 4;
  Tensor x = randn({B, T, C}, DType::f32, gen);
  Tensor w = rand({C, W}, 0.5, 1.5, DType::f32, gen);  // no zero taps, so every later output moves
  Tensor b = randn({C}, DType::f32, gen);
  auto base = causal_conv1d(x, w, b).to_vector<float>();
  for (int64_t t0 : {int64_t{0}, int64_t{4}, T - 1}) {
    Tensor x2 = x.clone();
    x2.data<float>()[(1 * T + t0) * C + 2] += 10.0f;  // batch 1, time t0, channel 2
    auto moved = causal_conv1d(x2, w, b).to_vector<float>();
    int64_t before_changed = 0, other_batch_changed = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) {
        other_batch_changed += moved[(0 * T + t) * C + c] != base[(0 * T + t) * C + c];
        if (t < t0) before_changed += moved[(1 * T + t) * C + c] != base[(1 * T + t) * C + c];
      }
    INFO("t0 " << t0);
    CHECK(before_changed == 0);
    CHECK(other_batch_changed == 0);
    // The window reaches W-1 steps ahead: outputs t0 .. t0+W-1 of channel 2 move.
    for (int64_t t = t0; t < std::min(T, t0 + W); ++t)
      CHECK(moved[(1 * T + t) * C + 2] != base[(1 * T + t) * C + 2]);
    if (t0 + W < T) CHECK(moved[(1 * T + t0 + W) * C + 2] == base[(1 * T + t0 + W) * C + 2]);
  }
}

TEST_CASE("causal_conv1d gradients match loops on a large input", "[ops]") {
  // Past the threading threshold: checks the threaded dx and the chunked dw/db sums.
  Generator gen(24);
  Dims d{3, 200, 48, 4};
  Tensor x = randn({d.B, d.T, d.C}, DType::f64, gen).set_requires_grad(true);
  Tensor w = randn({d.C, d.W}, DType::f64, gen).set_requires_grad(true);
  Tensor b = randn({d.C}, DType::f64, gen).set_requires_grad(true);
  Tensor g = randn({d.B, d.T, d.C}, DType::f64, gen);
  causal_conv1d(x, w, b).backward(g);
  auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), gv = g.to_vector<double>();
  std::vector<double> dx(xv.size(), 0.0), dw(wv.size(), 0.0), db(d.C, 0.0);
  for (int64_t bb = 0; bb < d.B; ++bb)
    for (int64_t t = 0; t < d.T; ++t)
      for (int64_t c = 0; c < d.C; ++c) {
        double gg = gv[(bb * d.T + t) * d.C + c];
        db[c] += gg;
        for (int64_t j = 0; j < d.W; ++j) {
          int64_t s = t - (d.W - 1) + j;
          if (s < 0) continue;
          dx[(bb * d.T + s) * d.C + c] += wv[c * d.W + j] * gg;
          dw[c * d.W + j] += xv[(bb * d.T + s) * d.C + c] * gg;
        }
      }
  CHECK(rel_err(x.grad().to_vector<double>(), dx) < 1e-12);
  CHECK(rel_err(w.grad().to_vector<double>(), dw) < 1e-12);
  CHECK(rel_err(b.grad().to_vector<double>(), db) < 1e-12);
}

namespace {

struct Grads {
  Tensor out, dx, dw, db;
};

// out = f(x, w, b) on fresh leaves, then backward with gy.
template <class F>
Grads run_grads(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& gy, F&& f) {
  Tensor xl = x.detach().set_requires_grad(true), wl = w.detach().set_requires_grad(true);
  Tensor bl = b.defined() ? b.detach().set_requires_grad(true) : Tensor();
  Tensor out = f(xl, wl, bl);
  out.backward(gy);
  return {out, xl.grad(), wl.grad(), bl.defined() ? bl.grad() : Tensor()};
}

}  // namespace

TEST_CASE("causal_conv1d with silu equals silu of the conv, forward and gradients", "[ops]") {
  Generator gen(25);
  // Typical, one tap, T < W, a wide kernel, and one past the threading threshold.
  for (Dims d : {Dims{2, 7, 5, 4}, Dims{3, 5, 4, 1}, Dims{2, 2, 3, 4}, Dims{2, 9, 3, 7}, Dims{4, 256, 64, 4}}) {
    for (bool with_bias : {true, false}) {
      INFO("B " << d.B << " T " << d.T << " C " << d.C << " W " << d.W << " bias " << with_bias);
      Tensor x = randn({d.B, d.T, d.C}, DType::f32, gen);
      Tensor w = randn({d.C, d.W}, DType::f32, gen);
      Tensor b = with_bias ? randn({d.C}, DType::f32, gen) : Tensor();
      Tensor gy = randn({d.B, d.T, d.C}, DType::f32, gen);
      Grads fused = run_grads(x, w, b, gy, [](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        return causal_conv1d(xx, ww, bb, ConvActivation::silu);
      });
      Grads ref = run_grads(x, w, b, gy, [](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        return silu(causal_conv1d(xx, ww, bb));
      });
      CHECK(loglin_test::rel_err(fused.out, ref.out) < 1e-5);
      CHECK(loglin_test::rel_err(fused.dx, ref.dx) < 1e-5);
      CHECK(loglin_test::rel_err(fused.dw, ref.dw) < 1e-5);
      if (with_bias) CHECK(loglin_test::rel_err(fused.db, ref.db) < 1e-5);
    }
  }
}

TEST_CASE("causal_conv1d reads a row-strided x in place with the same results as a dense copy", "[ops]") {
  Generator gen(26);
  struct View {
    const char* what;
    Shape base;
    std::function<Tensor(const Tensor&)> make;  // base -> [B, T, C] view
  };
  const int64_t B = 3, T = 9, C = 6, W = 4;
  const std::vector<View> views = {
      // Rows of one stride (C + 5): read in place.
      {"narrow of the last dim", {B, T, C + 5}, [](const Tensor& t) { return t.narrow(2, 2, C); }},
      {"split of the last dim", {B, T, C + 4},
       [](const Tensor& t) { return split(t, -1, {3, C, 1})[1]; }},
      {"narrow of the last dim, B = 1", {1, T, C + 3}, [](const Tensor& t) { return t.narrow(2, 1, C); }},
      {"narrow of the last dim, T = 1", {B, 1, C + 3}, [](const Tensor& t) { return t.narrow(2, 3, C); }},
      // Rows of two strides (the batch dim does not merge): copied.
      {"narrow of the time dim", {B, T + 2, C}, [](const Tensor& t) { return t.narrow(1, 1, T); }},
      // Channels not unit-stride: copied.
      {"transposed", {B, C, T}, [](const Tensor& t) { return t.transpose(1, 2); }},
  };
  for (const View& v : views)
    for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) {
      INFO(v.what << (act == ConvActivation::silu ? ", silu" : ""));
      Tensor base = randn(v.base, DType::f32, gen);
      Tensor x = v.make(base);
      REQUIRE(!x.is_contiguous());
      const int64_t b = x.shape()[0], t = x.shape()[1];
      Tensor w = randn({C, W}, DType::f32, gen), bias = randn({C}, DType::f32, gen);
      Tensor gy = randn({b, t, C}, DType::f32, gen);
      auto conv = [act](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        return causal_conv1d(xx, ww, bb, act);
      };
      // Strided: the gradient reaches the base through the view.
      Tensor base_leaf = base.detach().set_requires_grad(true);
      Tensor wl = w.detach().set_requires_grad(true), bl = bias.detach().set_requires_grad(true);
      Tensor out = conv(v.make(base_leaf), wl, bl);
      out.backward(gy);
      Tensor dx = v.make(base_leaf.grad()).contiguous();
      Grads dense = run_grads(x.contiguous(), w, bias, gy, conv);
      CHECK(out.to_vector<float>() == dense.out.to_vector<float>());
      CHECK(dx.to_vector<float>() == dense.dx.to_vector<float>());
      CHECK(wl.grad().to_vector<float>() == dense.dw.to_vector<float>());
      CHECK(bl.grad().to_vector<float>() == dense.db.to_vector<float>());
    }
}

TEST_CASE("causal_conv1d shape errors say what was expected", "[ops]") {
  Tensor x = Tensor::zeros({2, 5, 8});
  CHECK_THROWS_AS(causal_conv1d(x, Tensor::zeros({4, 3}), Tensor()), loglin::Error);
  CHECK(contains(error_message([&] { causal_conv1d(x, Tensor::zeros({4, 3}), Tensor()); }),
                 "[causal_conv1d] weight must be [C, W] with C = 8, got [4, 3]"));
  CHECK(contains(error_message([&] { causal_conv1d(x, Tensor::zeros({8}), Tensor()); }),
                 "[causal_conv1d] weight must be [C, W]"));
  CHECK(contains(error_message([&] { causal_conv1d(x, Tensor::zeros({8, 0}), Tensor()); }), "[causal_conv1d]"));
  CHECK(contains(error_message([&] { causal_conv1d(x, Tensor::zeros({8, 3}), Tensor::zeros({4})); }),
                 "[causal_conv1d] bias must be [C] with C = 8, got [4]"));
  CHECK(contains(error_message([&] { causal_conv1d(Tensor::zeros({5, 8}), Tensor::zeros({8, 3}), Tensor()); }),
                 "[causal_conv1d] x [B, T, C] must have 3 dims"));
  CHECK(contains(error_message([&] { causal_conv1d(x, Tensor::zeros({8, 3}, DType::f64), Tensor()); }),
                 "[causal_conv1d] dtypes"));
}

TEST_CASE("causal_conv1d passes gradcheck", "[ops]") {
  auto rows = run_gradcheck("causal_conv1d");
  CHECK(rows.size() >= 5);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": " << row.result.message);
    CHECK(row.result.passed);
  }
}

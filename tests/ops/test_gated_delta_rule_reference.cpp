// The gated delta rule's references pinned to each other and to the math:
// gradcheck of the naive key, naive == recurrent forward, the recurrent
// backward == autograd through the naive key, the plain form against a direct
// single-state loop and the log-linear form against the pairwise definition,
// the decoding step against the forward, extreme gates, and bad input.
// LOGLIN_GDR_REPORT=1 prints the worst f64 errors at exit.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "catch.h"
#include "core/rng.h"
#include "ops/elementwise/binary.h"
#include "ops/gated_delta_rule/reference.h"
#include "ops/gated_delta_rule/step.h"
#include "ops/shape/cat.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::all_finite;
using loglin_test::rel_err;

namespace {

// ---- inputs ----

struct In {
  Tensor q, k, v, g, beta, ls;  // ls undefined: the plain form
};

int64_t min_levels(int64_t last_pos) { return std::bit_width(static_cast<uint64_t>(last_pos)) + 1; }

// x's last dim scaled to unit L2 norm, as the layer does for k.
Tensor unit_rows(const Tensor& x) {
  std::vector<double> a = x.to_vector<double>();
  const size_t K = static_cast<size_t>(x.size(x.dim() - 1));
  for (size_t r = 0; r < a.size(); r += K) {
    double n = 0;
    for (size_t i = r; i < r + K; ++i) n += a[i] * a[i];
    for (size_t i = r; i < r + K; ++i) a[i] /= std::sqrt(n);
  }
  return Tensor::from_vector(a, x.shape()).to(x.dtype());
}

struct Ranges {
  double g_lo = -1, g_hi = 0, b_lo = 0, b_hi = 1;
};

// q ~ N(0, 1); k unit rows; v ~ N(0, 1); g, beta uniform in the ranges;
// level scales ~ U(0.5, 1.5), L levels (L = 0: the plain form).
In random_in(Generator& gen, int64_t B, int64_t T, int64_t G, int64_t H, int64_t K, int64_t V, int64_t L,
             DType dt = DType::f64, Ranges r = {}) {
  In in;
  in.q = randn({B, T, G, K}, dt, gen);
  in.k = unit_rows(randn({B, T, G, K}, dt, gen));
  in.v = randn({B, T, H, V}, dt, gen);
  in.g = rand({B, T, H}, r.g_lo, r.g_hi, dt == DType::f64 ? DType::f64 : DType::f32, gen);
  in.beta = rand({B, T, H}, r.b_lo, r.b_hi, dt, gen);
  if (L > 0) in.ls = rand({B, T, H, L}, 0.5, 1.5, dt, gen);
  return in;
}

In with_grad(const In& in) {
  In out{in.q.clone().detach(), in.k.clone().detach(),    in.v.clone().detach(),
         in.g.clone().detach(), in.beta.clone().detach(), in.ls.defined() ? in.ls.clone().detach() : Tensor()};
  for (Tensor* t : {&out.q, &out.k, &out.v, &out.g, &out.beta, &out.ls})
    if (t->defined()) t->set_requires_grad(true);
  return out;
}

In slice_t(const In& in, int64_t start, int64_t len) {
  return {in.q.narrow(1, start, len),    in.k.narrow(1, start, len),
          in.v.narrow(1, start, len),    in.g.narrow(1, start, len),
          in.beta.narrow(1, start, len), in.ls.defined() ? in.ls.narrow(1, start, len) : Tensor()};
}

// Row t of x [N, T, ...] as the [N, ...] tensor step takes.
Tensor at(const Tensor& x, int64_t t) { return x.defined() ? x.select(1, t).contiguous() : Tensor(); }

Tensor cu_tensor(const std::vector<int64_t>& cu) { return Tensor::from_vector(cu, {static_cast<int64_t>(cu.size())}); }

// A random state [N, H, L, K, V] (f64) at `positions`, zero where a position is 0.
GatedDeltaState random_state(Generator& gen, const std::vector<int64_t>& positions, int64_t H, int64_t L, int64_t K,
                             int64_t V) {
  const int64_t N = static_cast<int64_t>(positions.size()), per = H * L * K * V;
  std::vector<double> x = (randn({N, H, L, K, V}, DType::f64, gen) * 0.5).to_vector<double>();
  for (int64_t n = 0; n < N; ++n)
    if (positions[n] == 0) std::fill(x.begin() + n * per, x.begin() + (n + 1) * per, 0.0);
  return {Tensor::from_vector(x, {N, H, L, K, V}), positions};
}

GatedDeltaRuleOutput naive(const In& in, const GatedDeltaRuleOptions& opt) {
  return gated_delta_rule_naive(in.q, in.k, in.v, in.g, in.beta, in.ls, opt);
}
GatedDeltaRuleOutput recurrent(const In& in, const GatedDeltaRuleOptions& opt) {
  return gated_delta_rule_recurrent(in.q, in.k, in.v, in.g, in.beta, in.ls, opt);
}

// ---- the worst errors, printed at exit with LOGLIN_GDR_REPORT ----

std::map<std::string, double>& worst() {
  static std::map<std::string, double> w;
  return w;
}
double note(const std::string& what, double err) {
  double& w = worst()[what];
  w = std::max(w, err);
  return err;
}
struct Reporter {
  Reporter() { worst(); }
  ~Reporter() {
    if (!std::getenv("LOGLIN_GDR_REPORT")) return;
    std::printf("\nworst relative error (f64):\n| quantity | worst rel. err |\n|---|---|\n");
    for (const auto& [k, v] : worst()) std::printf("| %s | %.3g |\n", k.c_str(), v);
  }
};
Reporter reporter;

// ---- direct forms written here, independent of the library ----

// The plain gated delta rule, one K x V state per (b, h) with A_t built as a
// K x K matrix: S_t = A_t S_{t-1} + beta_t k_t v_t^T, o_t = S_t^T q_t.
Tensor direct_plain(const In& in) {
  const int64_t B = in.q.size(0), T = in.q.size(1), G = in.q.size(2), K = in.q.size(3), H = in.v.size(2),
                V = in.v.size(3);
  const std::vector<double> q = in.q.to_vector<double>(), k = in.k.to_vector<double>(), v = in.v.to_vector<double>(),
                            g = in.g.to_vector<double>(), be = in.beta.to_vector<double>();
  std::vector<double> o(static_cast<size_t>(B * T * H * V));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> S(K * V, 0.0), A(K * K), AS(K * V);
      for (int64_t t = 0; t < T; ++t) {
        const int64_t rh = (b * T + t) * H + h, rg = ((b * T + t) * G + h / (H / G)) * K;
        for (int64_t i = 0; i < K; ++i)
          for (int64_t j = 0; j < K; ++j)
            A[i * K + j] = std::exp(g[rh]) * ((i == j ? 1.0 : 0.0) - be[rh] * k[rg + i] * k[rg + j]);
        for (int64_t i = 0; i < K; ++i)
          for (int64_t y = 0; y < V; ++y) {
            double s = 0;
            for (int64_t j = 0; j < K; ++j) s += A[i * K + j] * S[j * V + y];
            AS[i * V + y] = s + be[rh] * k[rg + i] * v[rh * V + y];
          }
        S = AS;
        for (int64_t y = 0; y < V; ++y) {
          double s = 0;
          for (int64_t i = 0; i < K; ++i) s += S[i * V + y] * q[rg + i];
          o[rh * V + y] = s;
        }
      }
    }
  return Tensor::from_vector(o, {B, T, H, V});
}

// The log-linear form by its pairwise definition:
//   o_t = sum_{s <= t} lambda_t[bit_length(t XOR s)] beta_s (q_t^T P(t, s) k_s) v_s,
// carrying u = P(t, s)^T q_t from s = t down to 0 (A symmetric: u <- A_s u).
Tensor pairwise(const In& in) {
  const int64_t B = in.q.size(0), T = in.q.size(1), G = in.q.size(2), K = in.q.size(3), H = in.v.size(2),
                V = in.v.size(3), L = in.ls.size(3);
  const std::vector<double> q = in.q.to_vector<double>(), k = in.k.to_vector<double>(), v = in.v.to_vector<double>(),
                            g = in.g.to_vector<double>(), be = in.beta.to_vector<double>(),
                            ls = in.ls.to_vector<double>();
  std::vector<double> o(static_cast<size_t>(B * T * H * V), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t rt = (b * T + t) * H + h;
        std::vector<double> u(q.begin() + ((b * T + t) * G + h / (H / G)) * K,
                              q.begin() + ((b * T + t) * G + h / (H / G)) * K + K);
        for (int64_t s = t; s >= 0; --s) {
          const int64_t rs = (b * T + s) * H + h, ks = ((b * T + s) * G + h / (H / G)) * K;
          double uk = 0;
          for (int64_t x = 0; x < K; ++x) uk += u[x] * k[ks + x];
          const double w = ls[rt * L + std::bit_width(static_cast<uint64_t>(t ^ s))] * be[rs] * uk;
          for (int64_t y = 0; y < V; ++y) o[rt * V + y] += w * v[rs * V + y];
          for (int64_t x = 0; x < K; ++x) u[x] = std::exp(g[rs]) * (u[x] - be[rs] * uk * k[ks + x]);
        }
      }
  return Tensor::from_vector(o, {B, T, H, V});
}

struct Heads {
  int64_t G, H, K, V;
};

}  // namespace

TEST_CASE("gated_delta_rule: naive key passes gradcheck", "[ops][gated_delta_rule]") {
  // Every input, the initial state (positions not aligned, per sequence
  // different), and a loss on o and on the final state.
  Generator gen(7301);
  for (bool plain : {true, false}) {
    for (const Heads hd : {Heads{1, 2, 3, 2}, Heads{2, 2, 2, 2}}) {
      for (bool packed : {false, true}) {
        INFO((plain ? "plain" : "log-linear") << ", G = " << hd.G << (packed ? ", packed" : ""));
        const int64_t T = packed ? 9 : 7, B = packed ? 1 : 2;
        const std::vector<int64_t> positions = packed ? std::vector<int64_t>{2, 6} : std::vector<int64_t>{5, 3};
        const int64_t L = plain ? 1 : min_levels(5 + T - 1);
        const In in = random_in(gen, B, T, hd.G, hd.H, hd.K, hd.V, plain ? 0 : L);
        const GatedDeltaState st = random_state(gen, positions, hd.H, L, hd.K, hd.V);
        std::vector<Tensor> xs{in.q, in.k, in.v, in.g, in.beta};
        if (!plain) xs.push_back(in.ls);
        xs.push_back(st.levels);
        for (Tensor& x : xs) x.set_requires_grad(true);
        const GradcheckFn fn = [&](const std::vector<Tensor>& x) {
          auto opt = GatedDeltaRuleOptions().initial_state({x.back(), positions}).return_final_state();
          if (packed) opt.cu_seqlens(cu_tensor({0, 4, 9}));
          const GatedDeltaRuleOutput out =
              gated_delta_rule_naive(x[0], x[1], x[2], x[3], x[4], plain ? Tensor() : x[5], opt);
          return cat({out.o.reshape({-1}), out.final_state.levels.reshape({-1})}, 0);
        };
        const GradcheckResult r = gradcheck(fn, xs);
        INFO(r.message);
        CHECK(r.passed);
      }
    }
  }
}

TEST_CASE("gated_delta_rule: naive equals recurrent forward", "[ops][gated_delta_rule]") {
  Generator gen(7302);
  for (bool plain : {true, false}) {
    for (const Heads hd : {Heads{1, 2, 3, 5}, Heads{2, 4, 1, 3}, Heads{3, 3, 4, 1}}) {
      for (int64_t T : {1, 63, 64, 65, 200}) {
        INFO((plain ? "plain" : "log-linear")
             << ", G = " << hd.G << ", H = " << hd.H << ", K = " << hd.K << ", V = " << hd.V << ", T = " << T);
        const In in = random_in(gen, 2, T, hd.G, hd.H, hd.K, hd.V, plain ? 0 : min_levels(T - 1));
        const auto opt = GatedDeltaRuleOptions().return_final_state();
        const GatedDeltaRuleOutput a = naive(in, opt), b = recurrent(in, opt);
        CHECK(note("o (fwd)", rel_err(a.o, b.o)) < 1e-12);
        CHECK(note("final state (fwd)", rel_err(a.final_state.levels, b.final_state.levels)) < 1e-12);
        CHECK(a.final_state.positions == std::vector<int64_t>{T, T});
        CHECK(b.final_state.positions == std::vector<int64_t>{T, T});
      }
    }
  }
}

TEST_CASE("gated_delta_rule: naive equals recurrent from initial states and packed", "[ops][gated_delta_rule]") {
  Generator gen(7303);
  const int64_t G = 2, H = 4, K = 3, V = 2;
  for (bool plain : {true, false}) {
    INFO((plain ? "plain" : "log-linear"));
    // Batch rows from one position (run as one batch) and from different ones.
    for (const std::vector<int64_t>& pos : {std::vector<int64_t>{37, 37}, std::vector<int64_t>{5, 64}}) {
      const int64_t T = 70, L = plain ? 1 : min_levels(64 + T - 1);
      const In in = random_in(gen, 2, T, G, H, K, V, plain ? 0 : L);
      const auto opt = GatedDeltaRuleOptions().initial_state(random_state(gen, pos, H, L, K, V)).return_final_state();
      const GatedDeltaRuleOutput a = naive(in, opt), b = recurrent(in, opt);
      CHECK(note("o (fwd)", rel_err(a.o, b.o)) < 1e-12);
      CHECK(note("final state (fwd)", rel_err(a.final_state.levels, b.final_state.levels)) < 1e-12);
      CHECK(a.final_state.positions == std::vector<int64_t>{pos[0] + T, pos[1] + T});
    }
    // Packed, with a length-1 sequence and states at positions 0, 3, 64, 1, 100.
    const std::vector<int64_t> lens = {1, 63, 64, 65, 7}, pos = {0, 3, 64, 1, 100};
    std::vector<int64_t> cu = {0};
    for (int64_t n : lens) cu.push_back(cu.back() + n);
    const int64_t L = plain ? 1 : min_levels(128);
    const In in = random_in(gen, 1, cu.back(), G, H, K, V, plain ? 0 : L);
    for (bool with_state : {false, true}) {
      auto opt = GatedDeltaRuleOptions().cu_seqlens(cu_tensor(cu)).return_final_state();
      if (with_state) opt.initial_state(random_state(gen, pos, H, L, K, V));
      const GatedDeltaRuleOutput a = naive(in, opt), b = recurrent(in, opt);
      CHECK(note("o (fwd)", rel_err(a.o, b.o)) < 1e-12);
      CHECK(note("final state (fwd)", rel_err(a.final_state.levels, b.final_state.levels)) < 1e-12);
      CHECK(b.final_state.positions.size() == lens.size());
      // Each packed sequence equals the sequence alone.
      for (size_t i = 0; i < lens.size() && !with_state; ++i) {
        const GatedDeltaRuleOutput alone = naive(slice_t(in, cu[i], lens[i]), GatedDeltaRuleOptions());
        CHECK(rel_err(a.o.narrow(1, cu[i], lens[i]), alone.o) < 1e-12);
      }
    }
  }
}

TEST_CASE("gated_delta_rule: recurrent backward equals autograd through the naive key", "[ops][gated_delta_rule]") {
  Generator gen(7304);
  for (bool plain : {true, false}) {
    for (const Heads hd : {Heads{1, 2, 3, 2}, Heads{2, 4, 2, 3}}) {
      for (int mode = 0; mode < 4; ++mode) {
        // 0: no state; 1: initial state, loss on o only; 2: initial and final
        // state; 3: packed with initial and final state.
        INFO((plain ? "plain" : "log-linear") << ", G = " << hd.G << ", mode " << mode);
        const bool packed = mode == 3, with_state = mode >= 1, with_final = mode >= 2;
        const std::vector<int64_t> pos = packed ? std::vector<int64_t>{7, 0, 64} : std::vector<int64_t>{5, 64};
        const int64_t T = 70, B = packed ? 1 : 2, L = plain ? 1 : min_levels(64 + T - 1);
        const In in = random_in(gen, B, T, hd.G, hd.H, hd.K, hd.V, plain ? 0 : L);
        GatedDeltaRuleOptions opt;
        if (packed) opt.cu_seqlens(cu_tensor({0, 1, 41, 70}));
        if (with_state) opt.initial_state(random_state(gen, pos, hd.H, L, hd.K, hd.V));
        if (with_final) opt.return_final_state();

        const In x = with_grad(in);
        GatedDeltaRuleOptions xopt = opt;
        Tensor st;
        if (with_state) {
          st = opt.initial_state().levels.clone().detach();
          st.set_requires_grad(true);
          xopt.initial_state({st, pos});
        }
        const GatedDeltaRuleOutput out = naive(x, xopt);
        const Tensor dout = randn(out.o.shape(), DType::f64, gen);
        const int64_t N = packed ? 3 : 2;
        const Tensor dfin = with_final ? randn({N, hd.H, L, hd.K, hd.V}, DType::f64, gen) : Tensor();
        if (with_final)
          autograd::backward({out.o, out.final_state.levels}, {dout, dfin});
        else
          autograd::backward({out.o}, {dout});

        const GatedDeltaRuleGrads r =
            gated_delta_rule_recurrent_backward(in.q, in.k, in.v, in.g, in.beta, in.ls, opt, dout, dfin);
        CHECK(note("dq", rel_err(r.dq, x.q.grad())) < 1e-10);
        CHECK(note("dk", rel_err(r.dk, x.k.grad())) < 1e-10);
        CHECK(note("dv", rel_err(r.dv, x.v.grad())) < 1e-10);
        CHECK(note("dg", rel_err(r.dg, x.g.grad())) < 1e-10);
        CHECK(note("dbeta", rel_err(r.dbeta, x.beta.grad())) < 1e-10);
        if (!plain) CHECK(note("dlevel_scales", rel_err(r.dlevel_scales, x.ls.grad())) < 1e-10);
        CHECK(r.dlevel_scales.defined() == !plain);
        CHECK(r.dinitial_state.defined() == with_state);
        if (with_state) CHECK(note("dinitial_state", rel_err(r.dinitial_state, st.grad())) < 1e-10);
      }
    }
  }
}

TEST_CASE("gated_delta_rule: the plain form and the definitions", "[ops][gated_delta_rule]") {
  Generator gen(7305);
  const int64_t B = 2, T = 75, G = 2, H = 4, K = 3, V = 2, L = min_levels(T - 1);
  const In in = random_in(gen, B, T, G, H, K, V, L);
  const In plain{in.q, in.k, in.v, in.g, in.beta, Tensor()};
  const In ones{in.q, in.k, in.v, in.g, in.beta, Tensor::ones({B, T, H, L}, DType::f64)};
  const auto opt = GatedDeltaRuleOptions().return_final_state();

  // The plain op against a direct single-state loop.
  const GatedDeltaRuleOutput p = naive(plain, opt);
  const Tensor direct = direct_plain(in);
  CHECK(rel_err(p.o, direct) < 1e-12);
  CHECK(rel_err(recurrent(plain, opt).o, direct) < 1e-12);

  // level_scales = 1 is the plain op, and the levels add up to its state.
  for (const GatedDeltaRuleOutput& o1 : {naive(ones, opt), recurrent(ones, opt)}) {
    CHECK(rel_err(o1.o, p.o) < 1e-12);
    CHECK(rel_err(o1.final_state.levels.sum({2}, true), p.final_state.levels) < 1e-12);
  }

  // The log-linear form against its pairwise definition.
  const Tensor pw = pairwise(in);
  CHECK(rel_err(naive(in, opt).o, pw) < 1e-12);
  CHECK(rel_err(recurrent(in, opt).o, pw) < 1e-12);
}

TEST_CASE("gated_delta_rule: step equals the forward", "[ops][gated_delta_rule]") {
  Generator gen(7306);
  const int64_t B = 2, T = 100, G = 2, H = 4, K = 3, V = 2;
  for (bool plain : {true, false}) {
    const int64_t L = plain ? 1 : min_levels(T - 1);
    const In in = random_in(gen, B, T, G, H, K, V, plain ? 0 : L);
    const GatedDeltaRuleOutput full = naive(in, GatedDeltaRuleOptions().return_final_state());
    for (DType dt : {DType::f64, DType::f32}) {
      for (int64_t prefill : {0, 1, 37, 64}) {
        INFO((plain ? "plain" : "log-linear") << ", " << dtype_name(dt) << ", prefill " << prefill);
        const double tol = dt == DType::f64 ? 1e-12 : 1e-5;
        const In x{in.q.to(dt), in.k.to(dt), in.v.to(dt), in.g.to(dt), in.beta.to(dt), plain ? Tensor() : in.ls.to(dt)};
        GatedDeltaState st = GatedDeltaState::zeros(B, H, L, K, V, dt);
        if (prefill > 0) {
          const GatedDeltaRuleOutput pre = naive(slice_t(x, 0, prefill), GatedDeltaRuleOptions().return_final_state());
          CHECK(rel_err(pre.o, full.o.narrow(1, 0, prefill)) < tol);
          st = pre.final_state;
        }
        double worst_step = 0;
        for (int64_t t = prefill; t < T; ++t) {
          const Tensor o =
              gated_delta_rule_step(st, at(x.q, t), at(x.k, t), at(x.v, t), at(x.g, t), at(x.beta, t), at(x.ls, t));
          REQUIRE(o.dtype() == dt);
          worst_step = std::max(worst_step, rel_err(o, at(full.o, t)));
        }
        if (dt == DType::f64) note("o (step)", worst_step);
        CHECK(worst_step < tol);
        CHECK(rel_err(st.levels, full.final_state.levels) < tol);
        CHECK(st.positions == std::vector<int64_t>{T, T});
      }
    }
  }
  // bf16 inputs compute in f32 on an f32 state: the same as f32 inputs of the rounded values.
  const In in = random_in(gen, B, 5, G, H, K, V, 4, DType::f32);
  GatedDeltaState a = GatedDeltaState::zeros(B, H, 4, K, V), b = a;
  for (int64_t t = 0; t < 5; ++t) {
    auto bf = [&](const Tensor& x) { return at(x, t).to(DType::bf16); };
    auto rf = [&](const Tensor& x) { return bf(x).to(DType::f32); };
    const Tensor oa = gated_delta_rule_step(a, bf(in.q), bf(in.k), bf(in.v), at(in.g, t), bf(in.beta), bf(in.ls));
    const Tensor ob = gated_delta_rule_step(b, rf(in.q), rf(in.k), rf(in.v), at(in.g, t), rf(in.beta), rf(in.ls));
    CHECK(oa.dtype() == DType::f32);
    CHECK(rel_err(oa, ob) == 0);
  }
}

TEST_CASE("gated_delta_rule: extreme gates stay finite", "[ops][gated_delta_rule]") {
  Generator gen(7307);
  const int64_t B = 1, T = 130, G = 1, H = 2, K = 4, V = 3;
  for (bool plain : {true, false}) {
    for (const Ranges r : {Ranges{-1e-8, 0, 1e-6, 2e-6}, Ranges{-1e-8, 0, 1 - 1e-6, 1}, Ranges{-30, -29, 1e-6, 2e-6},
                           Ranges{-30, -29, 1 - 1e-6, 1}, Ranges{-30, 0, 0, 1}}) {
      INFO((plain ? "plain" : "log-linear")
           << ", g in [" << r.g_lo << ", " << r.g_hi << "], beta in [" << r.b_lo << ", " << r.b_hi << "]");
      const int64_t L = plain ? 1 : min_levels(T - 1);
      const In in = random_in(gen, B, T, G, H, K, V, plain ? 0 : L, DType::f64, r);
      const auto opt = GatedDeltaRuleOptions().return_final_state();
      const GatedDeltaRuleOutput a = naive(in, opt), b = recurrent(in, opt);
      CHECK(all_finite(a.o));
      CHECK(all_finite(a.final_state.levels));
      CHECK(note("o (fwd, extreme gates)", rel_err(b.o, a.o)) < 1e-12);
      const GatedDeltaRuleGrads d = gated_delta_rule_recurrent_backward(in.q, in.k, in.v, in.g, in.beta, in.ls, opt,
                                                                        randn(a.o.shape(), DType::f64, gen), Tensor());
      for (const Tensor* t : {&d.dq, &d.dk, &d.dv, &d.dg, &d.dbeta}) CHECK(all_finite(*t));
      // And the f32 step.
      const In x{in.q.to(DType::f32), in.k.to(DType::f32),    in.v.to(DType::f32),
                 in.g.to(DType::f32), in.beta.to(DType::f32), plain ? Tensor() : in.ls.to(DType::f32)};
      GatedDeltaState st = GatedDeltaState::zeros(B, H, L, K, V);
      bool finite = true;
      for (int64_t t = 0; t < T; ++t)
        finite = finite && all_finite(gated_delta_rule_step(st, at(x.q, t), at(x.k, t), at(x.v, t), at(x.g, t),
                                                            at(x.beta, t), at(x.ls, t)));
      CHECK(finite);
    }
  }
}

TEST_CASE("gated_delta_rule: bad input is a clear error", "[ops][gated_delta_rule]") {
  Generator gen(7308);
  const int64_t B = 2, T = 9, G = 1, H = 2, K = 3, V = 2;
  const In in = random_in(gen, B, T, G, H, K, V, 5);
  const GatedDeltaRuleOptions none;
  auto call = [&](const In& x, const GatedDeltaRuleOptions& o = GatedDeltaRuleOptions()) {
    return gated_delta_rule_naive(x.q, x.k, x.v, x.g, x.beta, x.ls, o);
  };
  In bad = in;
  bad.v = in.v.narrow(1, 0, 8);
  LL_CHECK_ERROR(call(bad), "[gated_delta_rule_naive] v must be [B, T, H, V]");
  bad = in, bad.beta = randn({B, T, H + 1}, DType::f64, gen);
  LL_CHECK_ERROR(call(bad), "beta must be [B, T, H]");
  bad = in, bad.beta = in.beta.to(DType::f32);
  LL_CHECK_ERROR(call(bad), "beta is f32 but q is f64");
  bad = in, bad.ls = randn({B, T, H + 1, 5}, DType::f64, gen);
  LL_CHECK_ERROR(call(bad), "level_scales must be [B, T, H, L]");
  bad = in, bad.ls = in.ls.narrow(3, 0, 4);  // the last position 8 needs 5 levels
  LL_CHECK_ERROR(call(bad), "needs L >= bit_length(8) + 1 = 5");
  LL_CHECK_ERROR(gated_delta_rule_recurrent(bad.q, bad.k, bad.v, bad.g, bad.beta, bad.ls, none),
                 "[gated_delta_rule_recurrent] level_scales has L = 4 levels");
  LL_CHECK_ERROR(call(in, GatedDeltaRuleOptions().chunk_size(48)), "chunk size must be a power of two, got 48");
  bad = in, bad.k = in.k.narrow(3, 0, 2);
  LL_CHECK_ERROR(call(bad), "q and k must have the same shape");
  bad = in, bad.q = in.q.to(DType::bf16), bad.k = in.k.to(DType::bf16);
  LL_CHECK_ERROR(call(bad), "q must be f32, f64 or bf16");  // check_qkvg's message; bf16 is not for the keys

  // Initial states: shape, count, a position that needs more levels, levels at position 0.
  LL_CHECK_ERROR(call(in, GatedDeltaRuleOptions().initial_state(GatedDeltaState::zeros(B, H, 1, K, V, DType::f64))),
                 "initial state levels must be [N, H, L, K, V] = [2, 2, 5, 3, 2]");
  LL_CHECK_ERROR(call({in.q, in.k, in.v, in.g, in.beta, Tensor()},
                      GatedDeltaRuleOptions().initial_state(GatedDeltaState::zeros(B, H, 5, K, V, DType::f64))),
                 "L = 1 for the plain form");
  GatedDeltaState st = random_state(gen, {3, 8}, H, 5, K, V);  // 8 + 8 = 16 needs 6 levels
  LL_CHECK_ERROR(call(in, GatedDeltaRuleOptions().initial_state(st)), "the last position 16 needs L >= ");
  st.positions = {3};
  LL_CHECK_ERROR(call(in, GatedDeltaRuleOptions().initial_state(st)), "initial state has 1 positions for 2 sequences");
  st = random_state(gen, {1, 2}, H, 5, K, V), st.positions = {0, 2};
  LL_CHECK_ERROR(call(in, GatedDeltaRuleOptions().initial_state(st)), "is at position 0 (holds no tokens)");
  LL_CHECK_ERROR(call(in, GatedDeltaRuleOptions().cu_seqlens(cu_tensor({0, 9}))), "B must be 1");
  LL_CHECK_ERROR(gated_delta_rule_recurrent_backward(in.q, in.k, in.v, in.g, in.beta, in.ls, none, in.q),
                 "[gated_delta_rule_recurrent_backward] dout must have o's shape");

  // The step.
  GatedDeltaState s = GatedDeltaState::zeros(B, H, 3, K, V, DType::f64);
  auto step = [&](GatedDeltaState& state, const Tensor& ls) {
    return gated_delta_rule_step(state, at(in.q, 0), at(in.k, 0), at(in.v, 0), at(in.g, 0), at(in.beta, 0), ls);
  };
  LL_CHECK_ERROR(step(s, at(in.ls, 0)),
                 "[gated_delta_rule_step] state levels must be [N, H, L, K, V] = [2, 2, 5, 3, 2]");
  LL_CHECK_ERROR(step(s, Tensor()), "L = 1 for the plain form");
  s = GatedDeltaState::zeros(B, H, 5, K, V, DType::f64), s.positions = {16, 16};
  LL_CHECK_ERROR(step(s, at(in.ls, 0)), "position 16 needs L >= bit_length(16) + 1 = 6");
  s = GatedDeltaState::zeros(B, H, 5, K, V);  // f32 state, f64 inputs
  LL_CHECK_ERROR(step(s, at(in.ls, 0)), "state levels are f32 but f64 inputs compute in f64");
  s = GatedDeltaState::zeros(B, H, 5, K, V, DType::f64);
  LL_CHECK_ERROR(gated_delta_rule_step(s, in.q, at(in.k, 0), at(in.v, 0), at(in.g, 0), at(in.beta, 0), at(in.ls, 0)),
                 "[gated_delta_rule_step] q [N, G, K] must have 3 dims");
  LL_CHECK_ERROR(gated_delta_rule_step(s, at(in.q, 0), at(in.k, 0), at(in.v, 0), at(in.g, 0),
                                       at(in.beta, 0).narrow(1, 0, 1), at(in.ls, 0)),
                 "beta [N, H]");
  CHECK(s.positions == std::vector<int64_t>{0, 0});  // a failed step leaves the state alone
}

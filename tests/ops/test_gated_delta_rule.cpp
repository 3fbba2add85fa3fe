// The gated delta rule's entry (the chunked CPU code with its hand-written
// backward) against the answer keys on fresh random inputs: the naive key
// (autograd through loglin's primitives) for o and every gradient, and, at
// T = 1000, the per-level recurrence and its reverse-mode backward (pinned to
// the naive key in test_gated_delta_rule_reference.cpp) to keep the test
// fast. f64 to 1e-10, f32 to 1e-4, relative. LOGLIN_GDR_REPORT=1 prints the
// worst error of each quantity per dtype at exit (the table).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "catch.h"
#include "core/rng.h"
#include "ops/elementwise/binary.h"
#include "ops/elementwise/unary.h"
#include "ops/gated_delta_rule/gated_delta_rule.h"
#include "ops/reduce/reduce.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

// Worst relative error per (dtype, quantity), printed at exit when asked.
struct Report {
  std::map<std::string, double> worst;
  void add(const std::string& key, double e) { worst[key] = std::max(worst[key], e); }
  ~Report() {
    if (!std::getenv("LOGLIN_GDR_REPORT")) return;
    std::printf("\n| dtype | quantity | worst rel err vs the key |\n|---|---|---:|\n");
    for (const auto& [k, e] : worst) std::printf("| %s | %.3e |\n", k.c_str(), e);
  }
};
Report report;

struct Case {
  int64_t B, T, G, H, K, V;
  int64_t chunk;
  bool log_linear;
  std::vector<int64_t> cu;         // packed sequences (B = 1), or empty
  std::vector<int64_t> positions;  // initial state positions, or empty
  bool final_state = false;
};

std::string name(const Case& c) {
  std::string s = "B" + std::to_string(c.B) + " T" + std::to_string(c.T) + " G" + std::to_string(c.G) + " H" +
                  std::to_string(c.H) + " K" + std::to_string(c.K) + " V" + std::to_string(c.V) + " chunk " +
                  std::to_string(c.chunk) + (c.log_linear ? " log-linear" : " plain");
  if (!c.cu.empty()) s += " varlen";
  if (!c.positions.empty()) s += " initial state";
  if (c.final_state) s += " final state";
  return s;
}

Tensor unit_rows(const Tensor& x) { return x / sqrt(sum(x * x, {-1}, true)); }

struct Inputs {
  std::vector<Tensor> x;  // q, k, v, g, beta, level_scales (or undefined), initial levels (or undefined)
  Tensor dout, dfin;
};

int64_t levels_for(const Case& c) {
  int64_t last = 0;
  const int64_t n = c.cu.empty() ? c.B : static_cast<int64_t>(c.cu.size()) - 1;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t len = c.cu.empty() ? c.T : c.cu[i + 1] - c.cu[i];
    const int64_t pos = c.positions.empty() ? 0 : c.positions[i];
    last = std::max(last, pos + len - 1);
  }
  return std::bit_width(static_cast<uint64_t>(last)) + 1;
}

Inputs make(const Case& c, Generator& gen) {
  Inputs in;
  const int64_t L = c.log_linear ? levels_for(c) : 1;
  const int64_t N = c.cu.empty() ? c.B : static_cast<int64_t>(c.cu.size()) - 1;
  in.x = {randn({c.B, c.T, c.G, c.K}, DType::f64, gen) * (1.0 / std::sqrt(double(c.K))),
          unit_rows(randn({c.B, c.T, c.G, c.K}, DType::f64, gen)),
          randn({c.B, c.T, c.H, c.V}, DType::f64, gen),
          rand({c.B, c.T, c.H}, -0.4, 0.0, DType::f64, gen),
          rand({c.B, c.T, c.H}, 0.05, 0.95, DType::f64, gen),
          c.log_linear ? rand({c.B, c.T, c.H, L}, 0.5, 1.5, DType::f64, gen) : Tensor(),
          c.positions.empty() ? Tensor() : randn({N, c.H, L, c.K, c.V}, DType::f64, gen) * 0.3};
  in.dout = randn({c.B, c.T, c.H, c.V}, DType::f64, gen);
  if (c.final_state) in.dfin = randn({N, c.H, L, c.K, c.V}, DType::f64, gen);
  return in;
}

GatedDeltaRuleOptions options_of(const Case& c, const std::vector<Tensor>& x, bool chunked) {
  GatedDeltaRuleOptions o;
  if (chunked) o.chunk_size(c.chunk);
  if (!c.cu.empty()) o.cu_seqlens(Tensor::from_vector(c.cu, {static_cast<int64_t>(c.cu.size())}));
  if (!c.positions.empty()) o.initial_state({x[6], c.positions});
  if (c.final_state) o.return_final_state();
  return o;
}

// o, the final state's levels (or undefined) and the gradients of
// sum(o * dout) + sum(final * dfin) for every input, by `run`.
struct Result {
  std::vector<Tensor> t;  // o, final, dq, dk, dv, dg, dbeta, dls, dstate
};

Result run_autograd(const Case& c, const Inputs& in, DType dt, bool chunked) {
  std::vector<Tensor> x;
  for (size_t i = 0; i < in.x.size(); ++i) {
    if (!in.x[i].defined()) {
      x.push_back(Tensor());
      continue;
    }
    const DType d = (i == 3 && dt != DType::f64) ? DType::f32 : dt;  // g is f32 with f32 inputs
    x.push_back(in.x[i].to(d).detach().set_requires_grad(true));
  }
  const GatedDeltaRuleOptions o = options_of(c, x, chunked);
  GatedDeltaRuleOutput out;
  if (chunked) out = c.log_linear ? log_linear_gated_delta_rule_with_state(x[0], x[1], x[2], x[3], x[4], x[5], o)
                                  : gated_delta_rule_with_state(x[0], x[1], x[2], x[3], x[4], o);
  else out = gated_delta_rule_naive(x[0], x[1], x[2], x[3], x[4], x[5], o);
  Tensor loss = sum(out.o * in.dout.to(dt));
  if (c.final_state) loss = loss + sum(out.final_state.levels * in.dfin.to(dt));
  loss.backward();
  Result r;
  r.t.push_back(out.o.to(DType::f64));
  r.t.push_back(c.final_state ? out.final_state.levels.to(DType::f64) : Tensor());
  for (size_t i = 0; i < x.size(); ++i) r.t.push_back(x[i].defined() ? x[i].grad().to(DType::f64) : Tensor());
  return r;
}

Result run_recurrent(const Case& c, const Inputs& in) {
  const std::vector<Tensor>& x = in.x;
  const GatedDeltaRuleOptions o = options_of(c, x, false);
  const GatedDeltaRuleOutput out = gated_delta_rule_recurrent(x[0], x[1], x[2], x[3], x[4], x[5], o);
  const GatedDeltaRuleGrads g =
      gated_delta_rule_recurrent_backward(x[0], x[1], x[2], x[3], x[4], x[5], o, in.dout, in.dfin);
  return {{out.o, c.final_state ? out.final_state.levels : Tensor(), g.dq, g.dk, g.dv, g.dg, g.dbeta,
           g.dlevel_scales, g.dinitial_state}};
}

const char* kNames[] = {"o", "final state", "dq", "dk", "dv", "dg", "dbeta", "dlevel_scales", "dinitial_state"};

void check(const Case& c, DType dt, bool big) {
  INFO(name(c) << " " << dtype_name(dt));
  Generator gen(1000 + c.T * 7 + c.K * 3 + c.V + (c.log_linear ? 1 : 0) + c.chunk);
  const Inputs in = make(c, gen);
  const Result want = big ? run_recurrent(c, in) : run_autograd(c, in, DType::f64, false);
  const Result got = run_autograd(c, in, dt, true);
  const double tol = dt == DType::f64 ? 1e-10 : 1e-4;
  for (size_t i = 0; i < want.t.size(); ++i) {
    if (!want.t[i].defined()) continue;
    REQUIRE(got.t[i].defined());
    const double e = rel_err(got.t[i], want.t[i]);
    INFO(kNames[i] << " rel err " << e);
    CHECK(e <= tol);
    report.add(std::string(dtype_name(dt)) + " | " + kNames[i], e);
  }
}

}  // namespace

TEST_CASE("gated_delta_rule: the chunked op equals the naive key, o and every gradient", "[ops][gated_delta_rule]") {
  std::vector<Case> cases;
  for (bool ll : {false, true}) {
    for (int64_t T : {int64_t{1}, int64_t{63}, int64_t{64}, int64_t{65}, int64_t{200}})
      cases.push_back({1, T, 1, 2, 5, 3, 16, ll, {}, {}, false});
    cases.push_back({2, 70, 2, 2, 4, 6, 32, ll, {}, {}, false});    // G = H
    cases.push_back({1, 90, 1, 3, 1, 4, 64, ll, {}, {}, true});     // K = 1, final state
    cases.push_back({1, 77, 2, 4, 3, 1, 16, ll, {}, {}, false});    // V = 1, G = 2
    cases.push_back({1, 100, 1, 2, 3, 2, 32, ll, {0, 1, 40, 100}, {}, true});  // varlen with a length-1 sequence
    cases.push_back({2, 50, 1, 2, 3, 4, 16, ll, {}, {37, 130}, true});         // initial state off the grid
    cases.push_back({1, 60, 1, 2, 2, 3, 16, ll, {0, 25, 60}, {64, 3}, true});  // varlen + initial states
  }
  for (const Case& c : cases)
    for (DType dt : {DType::f64, DType::f32}) check(c, dt, false);
}

TEST_CASE("gated_delta_rule: T = 1000 against the recurrence, every chunk size", "[ops][gated_delta_rule]") {
  for (bool ll : {false, true})
    for (int64_t chunk : {int64_t{16}, int64_t{32}, int64_t{64}}) {
      const Case c{1, 1000, 1, 2, 4, 3, chunk, ll, {}, {}, true};
      check(c, DType::f64, true);
      if (chunk == 64) check(c, DType::f32, true);
    }
}

TEST_CASE("gated_delta_rule: level scales of 1 give the plain op; bf16 computes in f32", "[ops][gated_delta_rule]") {
  Generator gen(5);
  const int64_t T = 150, H = 2;
  const Tensor q = randn({1, T, 1, 4}, DType::f32, gen), k = unit_rows(randn({1, T, 1, 4}, DType::f32, gen));
  const Tensor v = randn({1, T, H, 3}, DType::f32, gen), g = rand({1, T, H}, -0.3, 0.0, DType::f32, gen);
  const Tensor beta = rand({1, T, H}, 0.1, 0.9, DType::f32, gen);
  const Tensor ones = Tensor::ones({1, T, H, 9}, DType::f32);
  const Tensor plain = gated_delta_rule(q, k, v, g, beta);
  CHECK(rel_err(log_linear_gated_delta_rule(q, k, v, g, beta, ones), plain) < 1e-5);
  const auto b = [](const Tensor& t) { return t.to(DType::bf16); };
  const Tensor ob = gated_delta_rule(b(q), b(k), b(v), g, b(beta));
  CHECK(ob.dtype() == DType::bf16);
  CHECK(rel_err(ob.to(DType::f32), plain) < 2e-2);
  CHECK(plan_gated_delta_rule(b(q), b(k), b(v), g, b(beta)).compute_dtype == DType::f32);
}

TEST_CASE("gated_delta_rule: bad input is a clear error naming the op", "[ops][gated_delta_rule]") {
  Generator gen(6);
  const Tensor q = randn({1, 10, 1, 4}, DType::f32, gen), v = randn({1, 10, 2, 3}, DType::f32, gen);
  const Tensor g = rand({1, 10, 2}, -0.3, 0.0, DType::f32, gen), beta = rand({1, 10, 2}, 0.1, 0.9, DType::f32, gen);
  LL_CHECK_ERROR(gated_delta_rule(q, q, v, g, beta.narrow(2, 0, 1)), "[gated_delta_rule] beta must be [B, T, H]");
  LL_CHECK_ERROR(log_linear_gated_delta_rule(q, q, v, g, beta, Tensor::ones({1, 10, 2, 2})),
                 "[log_linear_gated_delta_rule] level_scales has L = 2");
  LL_CHECK_ERROR(log_linear_gated_delta_rule(q, q, v, g, beta, Tensor()), "level_scales is undefined");
  LL_CHECK_ERROR(gated_delta_rule(q, q, v, g, beta, GatedDeltaRuleOptions().chunk_size(48)), "power of two");
  LL_CHECK_ERROR(gated_delta_rule(q, q, v, g, beta, GatedDeltaRuleOptions().return_final_state()),
                 "gated_delta_rule_with_state");
}

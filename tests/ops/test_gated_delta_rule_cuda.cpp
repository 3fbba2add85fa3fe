// The gated delta rule and its log-linear form on CUDA, version v1 (pinned
// with a KernelVersionScope, so that a later version in auto does not hide
// it), against the CPU on fresh random inputs: the answer key (the naive
// form through autograd at small T; at T >= 1000 the per-level recurrence
// and its reverse-mode backward, which test_gated_delta_rule_reference.cpp
// pins to the naive key) and the chunked CPU op in the same dtype. o, the
// final state and every gradient: dq, dk, dv, dg, dbeta, dlevel_scales and
// the initial state's. f64 to 1e-10, f32 to 1e-4, relative.
// Inputs as the layer makes them: k with unit rows, beta in (0.05, 0.95),
// g in (-0.4, 0).
#include <algorithm>
#include <bit>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "catch.h"
#include "core/rng.h"
#include "ops/elementwise/binary.h"
#include "ops/elementwise/unary.h"
#include "ops/gated_delta_rule/gated_delta_rule.h"
#include "ops/gated_delta_rule/kernel_versions.h"
#include "ops/kernel_registry.h"
#include "ops/precision.h"
#include "ops/reduce/reduce.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Case {
  int64_t B, T, G, H, K, V;
  bool log_linear;
  std::vector<int64_t> cu;         // packed sequences (B = 1), or empty
  std::vector<int64_t> positions;  // initial state positions, or empty
  bool final_state = false;
};

std::string name(const Case& c) {
  std::string s = "B" + std::to_string(c.B) + " T" + std::to_string(c.T) + " G" + std::to_string(c.G) + " H" +
                  std::to_string(c.H) + " K" + std::to_string(c.K) + " V" + std::to_string(c.V) +
                  (c.log_linear ? " log-linear" : " plain");
  if (!c.cu.empty()) s += " varlen";
  if (!c.positions.empty()) s += " initial state";
  if (c.final_state) s += " final state";
  return s;
}

Tensor unit_rows(const Tensor& x) { return x / sqrt(sum(x * x, {-1}, true)); }

int64_t n_seqs(const Case& c) { return c.cu.empty() ? c.B : static_cast<int64_t>(c.cu.size()) - 1; }

int64_t levels_for(const Case& c) {
  int64_t last = 0;
  for (int64_t i = 0; i < n_seqs(c); ++i) {
    const int64_t len = c.cu.empty() ? c.T : c.cu[i + 1] - c.cu[i];
    const int64_t pos = c.positions.empty() ? 0 : c.positions[i];
    last = std::max(last, pos + len - 1);
  }
  return std::bit_width(static_cast<uint64_t>(last)) + 1;
}

struct Inputs {
  std::vector<Tensor> x;  // q, k, v, g, beta, level_scales (or undefined), initial levels (or undefined); f64
  Tensor dout, dfin;
};

Inputs make(const Case& c, Generator& gen) {
  Inputs in;
  const int64_t L = c.log_linear ? levels_for(c) : 1, N = n_seqs(c);
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

GatedDeltaRuleOptions options_of(const Case& c, const std::vector<Tensor>& x) {
  GatedDeltaRuleOptions o;
  if (!c.cu.empty()) o.cu_seqlens(Tensor::from_vector(c.cu, {static_cast<int64_t>(c.cu.size())}));
  if (!c.positions.empty()) o.initial_state({x[6], c.positions});
  if (c.final_state) o.return_final_state();
  return o;
}

// o, the final state's levels, then the gradients of sum(o * dout) +
// sum(final * dfin) for q, k, v, g, beta, level_scales and the initial
// levels (undefined where the case has none), all f64 on the cpu.
using Result = std::vector<Tensor>;
const char* kNames[] = {"o", "final state", "dq", "dk", "dv", "dg", "dbeta", "dlevel_scales", "dinitial_state"};

enum class By { op, naive };

Result run(const Case& c, const Inputs& in, DType dt, Device dev, By by) {
  std::vector<Tensor> x;
  for (const Tensor& t : in.x)
    x.push_back(t.defined() ? t.to(dt).to(dev).detach().set_requires_grad(true) : Tensor());
  const GatedDeltaRuleOptions o = options_of(c, x);
  GatedDeltaRuleOutput out;
  if (by == By::naive) out = gated_delta_rule_naive(x[0], x[1], x[2], x[3], x[4], x[5], o);
  else if (c.log_linear) out = log_linear_gated_delta_rule_with_state(x[0], x[1], x[2], x[3], x[4], x[5], o);
  else out = gated_delta_rule_with_state(x[0], x[1], x[2], x[3], x[4], o);
  Tensor loss = sum(out.o * in.dout.to(dt).to(dev));
  if (c.final_state) loss = loss + sum(out.final_state.levels * in.dfin.to(dt).to(dev));
  loss.backward();
  const auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
  Result r{host(out.o), c.final_state ? host(out.final_state.levels) : Tensor()};
  for (const Tensor& t : x) r.push_back(t.defined() ? host(t.grad()) : Tensor());
  return r;
}

// The recurrence and its reverse-mode backward (f64, plain loops).
Result run_recurrent(const Case& c, const Inputs& in) {
  const std::vector<Tensor>& x = in.x;
  const GatedDeltaRuleOptions o = options_of(c, x);
  const GatedDeltaRuleOutput out = gated_delta_rule_recurrent(x[0], x[1], x[2], x[3], x[4], x[5], o);
  const GatedDeltaRuleGrads g =
      gated_delta_rule_recurrent_backward(x[0], x[1], x[2], x[3], x[4], x[5], o, in.dout, in.dfin);
  return {out.o, c.final_state ? out.final_state.levels : Tensor(), g.dq, g.dk, g.dv, g.dg, g.dbeta,
          g.dlevel_scales, g.dinitial_state};
}

void expect_close(const Result& got, const Result& want, double tol, const char* against) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (!want[i].defined()) continue;
    REQUIRE(got[i].defined());
    const double e = rel_err(got[i], want[i]);
    INFO(kNames[i] << " vs " << against << ": rel err " << e);
    CHECK(e <= tol);
  }
}

// A CUDA version (v1 unless named) against the key (naive at small T, the
// recurrence at large T) and the chunked CPU op, in each dtype of `dtypes`.
// v2 computes its forward on TF32 tensor cores (precision high): o and the
// final state to 5e-3; its backward is v1's.
void check(const Case& c, const std::vector<DType>& dtypes, const char* version = "v1") {
  INFO(name(c) << ", version " << version);
  Generator gen(2000 + c.T * 7 + c.K * 3 + c.V + (c.log_linear ? 1 : 0) + c.G);
  const Inputs in = make(c, gen);
  const Result key = c.T >= 1000 ? run_recurrent(c, in) : run(c, in, DType::f64, Device::cpu(), By::naive);
  const bool tf32 = std::string(version) == "v2";
  KernelVersionScope scope("gated_delta_rule", version);
  const Float32MatmulPrecisionGuard precision(tf32 ? "high" : "highest");
  for (DType dt : dtypes) {
    INFO(dtype_name(dt));
    const double tol = tf32 ? 5e-3 : dt == DType::f64 ? 1e-10 : 1e-4;
    const Result gpu = run(c, in, dt, Device::cuda(), By::op);
    expect_close(gpu, key, tol, c.T >= 1000 ? "the recurrence" : "the naive key");
    expect_close(gpu, run(c, in, dt, Device::cpu(), By::op), tol, "the chunked cpu op");
  }
}

const std::vector<DType> kBoth{DType::f64, DType::f32};

}  // namespace

TEST_CASE("gated_delta_rule cuda v1: T = 1, 63, 64, 65, G = 1 and G = H, K = 1, V = 1",
          "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  for (bool ll : {false, true}) {
    for (int64_t T : {int64_t{1}, int64_t{63}, int64_t{64}, int64_t{65}}) check({2, T, 1, 2, 5, 3, ll, {}, {}}, kBoth);
    check({2, 70, 2, 2, 4, 6, ll, {}, {}}, kBoth);                   // G = H
    check({1, 90, 1, 3, 1, 4, ll, {}, {}, true}, kBoth);             // K = 1, final state
    check({1, 77, 2, 4, 3, 1, ll, {}, {}}, kBoth);                   // V = 1, G = 2 < H
    check({1, 150, 1, 2, 6, 200, ll, {}, {}, true}, kBoth);          // V = 200: several columns per thread
  }
}

TEST_CASE("gated_delta_rule cuda v1: varlen and states, with their gradients", "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  for (bool ll : {false, true}) {
    check({1, 100, 1, 2, 3, 2, ll, {0, 1, 40, 100}, {}, true}, kBoth);  // varlen with a length-1 sequence
    check({2, 50, 1, 2, 3, 4, ll, {}, {37, 130}, true}, kBoth);         // initial state off the grid
    check({1, 60, 1, 2, 2, 3, ll, {0, 25, 60}, {64, 3}, true}, kBoth);  // varlen + initial states
  }
}

TEST_CASE("gated_delta_rule cuda v1: T = 1000 and T = 4097 against the recurrence", "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  for (bool ll : {false, true}) {
    check({1, 1000, 1, 2, 16, 24, ll, {}, {}, true}, kBoth);
    check({2, 1000, 2, 2, 8, 12, ll, {}, {5, 1000}, true}, kBoth);  // G = H, initial states
  }
  check({1, 4097, 1, 2, 8, 24, true, {}, {}, true}, {DType::f32});   // many checkpoints, 13 levels
}

TEST_CASE("gated_delta_rule cuda v2: T = 1, 63, 64, 65, 1000, 4097, G = 1 and G = H, K panels",
          "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<DType> f32{DType::f32};
  for (bool ll : {false, true}) {
    for (int64_t T : {int64_t{1}, int64_t{63}, int64_t{64}, int64_t{65}}) check({2, T, 1, 2, 16, 64, ll, {}, {}}, f32, "v2");
    check({2, 130, 2, 2, 80, 64, ll, {}, {}, true}, f32, "v2");    // G = H, a 16-wide last K panel, final state
    check({1, 200, 1, 4, 128, 128, ll, {}, {}, true}, f32, "v2");  // G = 1 < H = 4, two V panels
    check({1, 1000, 2, 4, 64, 64, ll, {}, {}, true}, f32, "v2");   // G = 2 < H = 4
  }
  check({1, 4097, 1, 2, 32, 64, true, {}, {}, true}, f32, "v2");   // 65 chunks, 13 levels
  check({1, 4097, 1, 2, 32, 64, false, {}, {}, true}, f32, "v2");
}

TEST_CASE("gated_delta_rule cuda v2: varlen and states", "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<DType> f32{DType::f32};
  for (bool ll : {false, true}) {
    check({1, 300, 1, 2, 32, 64, ll, {0, 1, 64, 129, 300}, {}, true}, f32, "v2");  // lengths 1, 63, 65, 171
    check({2, 150, 1, 2, 16, 64, ll, {}, {37, 130}, true}, f32, "v2");             // initial states off the grid
    check({1, 200, 2, 2, 16, 64, ll, {0, 70, 71, 200}, {64, 5, 1000}, true}, f32, "v2");  // varlen + states
  }
}

TEST_CASE("gated_delta_rule cuda v1: deterministic, bf16 via f32, and the plan", "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  const Case c{1, 300, 1, 4, 16, 40, true, {}, {}, true};
  Generator gen(77);
  const Inputs in = make(c, gen);
  {
    // The reductions run in a fixed order: two runs agree bit for bit.
    KernelVersionScope scope("gated_delta_rule", "v1");
    const Result a = run(c, in, DType::f32, Device::cuda(), By::op);
    const Result b = run(c, in, DType::f32, Device::cuda(), By::op);
    for (size_t i = 0; i < a.size(); ++i) {
      if (!a[i].defined()) continue;
      INFO(kNames[i]);
      CHECK(loglin_test::max_abs_diff(a[i].to_vector<double>(), b[i].to_vector<double>()) == 0);
    }

    // bf16 inputs compute in f32 and o comes back in bf16.
    const Tensor q = in.x[0].to(DType::bf16).to(Device::cuda()), k = in.x[1].to(DType::bf16).to(Device::cuda());
    const Tensor v = in.x[2].to(DType::bf16).to(Device::cuda()), g = in.x[3].to(DType::f32).to(Device::cuda());
    const Tensor beta = in.x[4].to(DType::bf16).to(Device::cuda()), ls = in.x[5].to(DType::bf16).to(Device::cuda());
    const Tensor o = log_linear_gated_delta_rule(q, k, v, g, beta, ls);
    CHECK(o.dtype() == DType::bf16);
    const Tensor want = log_linear_gated_delta_rule(in.x[0], in.x[1], in.x[2], in.x[3], in.x[4], in.x[5]);
    CHECK(rel_err(o.to(Device::cpu()).to(DType::f64), want) < 2e-2);

    const KernelPlan p = plan_gated_delta_rule(q, k, v, g, beta, ls);
    CHECK(p.version == "v1");
    CHECK(p.compute_dtype == DType::f32);
    CHECK(loglin_test::contains(p.reason, "chosen by set_kernel_version"));
  }
  // Under auto: v1 runs only once it is in auto; until then a clear error says how to choose it.
  KernelVersionScope scope("gated_delta_rule", "auto");
  const Tensor q = in.x[0].to(DType::f32).to(Device::cuda()), k = in.x[1].to(DType::f32).to(Device::cuda());
  const Tensor v = in.x[2].to(DType::f32).to(Device::cuda()), g = in.x[3].to(DType::f32).to(Device::cuda());
  const Tensor beta = in.x[4].to(DType::f32).to(Device::cuda());
  bool any_in_auto = false;
  for (const gdr::KernelVersion& ver : gdr::gated_delta_rule_versions()) any_in_auto = any_in_auto || ver.in_auto;
  if (any_in_auto) CHECK(gated_delta_rule(q, k, v, g, beta).device().is_cuda());
  else LL_CHECK_ERROR(gated_delta_rule(q, k, v, g, beta), "LOGLIN_KERNELS=gated_delta_rule=v1");
}

// Decoding token by token against the CPU's forward over the whole sequence:
// every step is a call at position t with an initial state (the partial
// first chunk, the re-bucketing of the levels across calls).
void check_step(int64_t K, int64_t V, const char* version, double tol) {
  INFO("version " << version << ", K " << K << ", V " << V);
  KernelVersionScope scope("gated_delta_rule", version);
  const Float32MatmulPrecisionGuard precision(std::string(version) == "v2" ? "high" : "highest");
  Generator gen(77);
  const int64_t N = 2, T = 70, H = 4, G = 2, L = 8;
  const Tensor q = randn({N, T, G, K}, DType::f32, gen), k = unit_rows(randn({N, T, G, K}, DType::f32, gen));
  const Tensor v = randn({N, T, H, V}, DType::f32, gen), g = rand({N, T, H}, -0.4, 0.0, DType::f32, gen);
  const Tensor beta = rand({N, T, H}, 0.05, 0.95, DType::f32, gen), ls = rand({N, T, H, L}, 0.5, 1.5, DType::f32, gen);
  for (const bool ll : {false, true}) {
    INFO((ll ? "log-linear" : "plain"));
    const Tensor want = ll ? log_linear_gated_delta_rule(q, k, v, g, beta, ls) : gated_delta_rule(q, k, v, g, beta);
    GatedDeltaState st = GatedDeltaState::zeros(N, H, ll ? L : 1, K, V);
    st.levels = st.levels.to(Device::cuda());
    double worst = 0;
    for (int64_t t = 0; t < T; ++t) {
      const auto at = [&](const Tensor& x) { return x.narrow(1, t, 1).squeeze(1).to(Device::cuda()); };
      const Tensor o = gated_delta_rule_step(st, at(q), at(k), at(v), at(g), at(beta), ll ? at(ls) : Tensor());
      CHECK(o.device().is_cuda());
      worst = std::max(worst, rel_err(o.to(Device::cpu()), want.narrow(1, t, 1).squeeze(1)));
    }
    CHECK(st.positions[0] == T);
    INFO("worst rel err " << worst);
    CHECK(worst < tol);
  }
}

TEST_CASE("gated_delta_rule_step on cuda: decoding equals the cpu forward, both forms", "[cuda][gated_delta_rule]") {
  LOGLIN_REQUIRE_CUDA();
  check_step(5, 3, "v1", 1e-4);
  check_step(16, 64, "v2", 5e-3);  // v2's one-row chunks at every position, on TF32
}

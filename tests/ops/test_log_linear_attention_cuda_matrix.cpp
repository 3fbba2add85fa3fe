// The test matrix every CUDA version of log_linear_attention must pass
// (kernel_versions.h): each registered version, selected in turn, against
// the chunked CPU path and the naive T x T answer key, on fresh random
// inputs of awkward sizes:
//   T in {1, 63, 64, 65, 1000, 4097} (one chunk, one row short of and past a
//   chunk, many chunks and tree levels), G in {1, H}, K != V, packed
//   sequences (cu_seqlens), initial state and final state with gradients;
//   the forward and every gradient (dq, dk, dv, dg, dlevel_scales,
//   dinitial_state).
// dtypes and tolerances (relative error, ||a - b|| / ||b||; for dg against
// at least the size of the terms it sums, sqrt(sum over rows and heads of
// (|do| |o|)^2), since they cancel, exactly at T = 1):
//   f64 to 1e-10 where the version has f64 launchers;
//   f32 to 1e-4;
//   f32 under float32 matmul precision "high" (TF32) to 1e-2:
//   TF32 keeps 10 mantissa bits of each product's inputs (2^-11 relative
//   rounding, truncated: up to 2^-10), accumulation and the tree in f32; a
//   version without a TF32 path (v1) computes in f32 and meets it easily;
//   bf16 q, k, v, level_scales (g f32) to 2e-2 against the CPU in f64 on the
//   same bf16-rounded inputs and output gradient, dg to 5e-2: dg sums
//   do . o - v . dv, two nearly equal terms, and a native bf16 version keeps
//   its tree states (nodes, their gradients) in bf16, whose 2^-9 rounding the
//   cancellation amplifies (v2 on an H100: 0.021 and 0.029 at T = 4097, every
//   other gradient within 2e-2). A version without native bf16 launchers (v1)
//   runs them through the f32 conversion.
// The references are computed in f64 once per case. The naive gradients are
// T x T loops, so they are checked up to T = 1000 and without states (naive
// has none); the chunked CPU path, itself pinned to naive by the CPU tests,
// is the reference everywhere.
// A version whose supports() refuses a call is reported and skipped for it
// (the error names the call), never counted as a pass.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "catch.h"
#include "ops/kernel_registry.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/precision.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"
#include "test_util.h"

using namespace loglin;

namespace {

struct Case {
  std::string name;
  int64_t B = 2, T = 64, G = 1, H = 4, K = 64, V = 32, L = 0, chunk = 64;
  std::vector<int64_t> cu;         // packed sequences (B = 1) when not empty
  std::vector<int64_t> positions;  // an initial state at these positions when not empty
  bool final_grad = false;         // return the final state and put a gradient on it
};

using lla_test::Run;

int64_t n_seqs(const Case& c) { return c.cu.empty() ? c.B : static_cast<int64_t>(c.cu.size()) - 1; }

// lla_test::run_fwd_bwd with the case's chunk size, packed sequences and state positions.
Run run(const Case& c, const lla_test::Inputs& in, const Tensor& state, const Tensor& dout, const Tensor& dfin, DType dt,
        Device dev) {
  LogLinearAttentionOptions opt;
  opt.chunk_size(c.chunk);
  if (!c.cu.empty()) opt.cu_seqlens(lla_test::cu_tensor(c.cu));
  return lla_test::run_fwd_bwd(in, dt, dev, opt, state, c.positions, dout, dfin);
}

// Every output and gradient of `got` against `want` (either may lack the
// state parts; `want.dstate` undefined skips them, e.g. for naive). dg is
// measured against at least `dg_floor`, the size of the terms it sums
// (lla_test::dg_terms_norm of want.o and the output gradient of that run).
void check_run(const Run& got, const Run& want, double dg_floor, double tol, const std::string& against,
               double dg_tol = 0) {
  INFO("against " << against);
  auto rel = [](const Tensor& a, const Tensor& b) { return lla_test::rel_err(a, b); };
  CHECK(rel(got.o, want.o) < tol);
  CHECK(rel(got.dq, want.dq) < tol);
  CHECK(rel(got.dk, want.dk) < tol);
  CHECK(rel(got.dv, want.dv) < tol);
  CHECK(lla_test::dg_err_floor(got.dg, want.dg, dg_floor) < (dg_tol > 0 ? dg_tol : tol));
  CHECK(rel(got.dls, want.dls) < tol);
  if (want.fin.defined()) {
    REQUIRE(got.fin.defined());
    CHECK(rel(got.fin, want.fin) < tol);
  }
  if (want.dstate.defined()) {
    REQUIRE(got.dstate.defined());
    CHECK(rel(got.dstate, want.dstate) < tol);
  }
}

lla_test::Inputs rounded_to_bf16(const lla_test::Inputs& in) {
  auto r = [](const Tensor& t) { return t.to(DType::bf16).to(DType::f64); };
  return {r(in.q), r(in.k), r(in.v), in.g.to(DType::f32).to(DType::f64), r(in.ls)};
}

// The dtypes each version runs, f32 twice: in full f32 and with TF32 allowed.
struct Mode {
  DType dtype;
  bool tf32;
};
constexpr Mode kModes[] = {{DType::f64, false}, {DType::f32, false}, {DType::f32, true}, {DType::bf16, false}};

// Float32 matmul precision "high" (TF32) or "highest" for its lifetime.
struct Tf32Scope {
  Float32MatmulPrecisionGuard guard;
  explicit Tf32Scope(bool on) : guard(on ? Float32MatmulPrecision::high : Float32MatmulPrecision::highest) {}
};

bool refused(const Error& e) { return loglin_test::contains(e.what(), "does not take this call"); }

void check_case(const Case& c, uint64_t seed) {
  INFO("case " << c.name << ": B " << c.B << " T " << c.T << " G " << c.G << " H " << c.H << " K " << c.K << " V "
               << c.V << " chunk " << c.chunk);
  Generator gen(seed);
  int64_t last = c.T - 1;
  if (!c.positions.empty()) last += *std::max_element(c.positions.begin(), c.positions.end());
  const int64_t L = c.L > 0 ? c.L : lla_test::min_levels(last);
  const lla_test::Inputs in = lla_test::random_inputs(gen, c.B, c.T, c.G, c.H, c.K, c.V, L, DType::f64);
  const Tensor dout = randn(in.v.shape(), DType::f64, gen);
  Tensor state, dfin;
  const int64_t N = n_seqs(c);
  if (!c.positions.empty()) {
    state = mul(randn({N, c.H, L, c.K, c.V}, DType::f64, gen), 0.1).contiguous();
    for (int64_t n = 0; n < N; ++n)
      if (c.positions[n] == 0) core::fill(state.narrow(0, n, 1), 0.0);  // position 0 holds nothing
  }
  if (c.final_grad) dfin = randn({N, c.H, L, c.K, c.V}, DType::f64, gen);

  // References in f64: the chunked CPU path, on the inputs as drawn and on
  // their bf16 roundings; the naive answer key where it is affordable.
  const Run cpu = run(c, in, state, dout, dfin, DType::f64, Device::cpu());
  const lla_test::Inputs in16 = rounded_to_bf16(in);
  const Tensor dout16 = dout.to(DType::bf16).to(DType::f64);
  const Run cpu16 = run(c, in16, state, dout16, dfin, DType::f64, Device::cpu());
  Run naive;
  const bool with_naive = c.positions.empty() && !c.final_grad && c.T <= 1000;
  if (with_naive) {
    const Tensor cu = c.cu.empty() ? Tensor() : lla_test::cu_tensor(c.cu);
    naive.o = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls, cu);
    const LogLinearAttentionGrads gr = log_linear_attention_naive_backward(in.q, in.k, in.v, in.g, in.ls, dout, cu);
    naive.dq = gr.dq, naive.dk = gr.dk, naive.dv = gr.dv, naive.dg = gr.dg, naive.dls = gr.dlevel_scales;
  }
  // The floors of the dg errors: the size of the terms dg sums, per reference.
  const double dg_floor = lla_test::dg_terms_norm(cpu.o, dout);
  const double dg_floor16 = lla_test::dg_terms_norm(cpu16.o, dout16);
  const double dg_floor_naive = with_naive ? lla_test::dg_terms_norm(naive.o, dout) : 0.0;

  REQUIRE(!lla::kernel_versions().empty());
  for (const lla::KernelVersion& ver : lla::kernel_versions()) {
    INFO("kernel version " << ver.name);
    KernelVersionScope scope("log_linear_attention", ver.name);
    for (const Mode& mode : kModes) {
      const DType dt = mode.dtype;
      INFO("dtype " << dtype_name(dt) << (mode.tf32 ? " with TF32 allowed" : ""));
      if (dt == DType::f64 && !ver.forward_f64) continue;  // "where the version supports f64"
      Tf32Scope tf32(mode.tf32);
      Run got;
      try {
        got = run(c, dt == DType::bf16 ? in16 : in, state, dt == DType::bf16 ? dout16 : dout, dfin, dt,
                  Device::cuda());
      } catch (const Error& e) {
        if (!refused(e)) throw;
        WARN("kernel version " << ver.name << " refuses " << c.name << " in " << dtype_name(dt) << ": " << e.what());
        continue;
      }
      if (dt == DType::bf16) {
        REQUIRE(got.o.dtype() == DType::bf16);
        REQUIRE(got.dq.dtype() == DType::bf16);
        check_run(got, cpu16, dg_floor16, 2e-2, "cpu f64 on bf16-rounded inputs", 5e-2);
        continue;
      }
      const double tol = dt == DType::f64 ? 1e-10 : mode.tf32 ? 1e-2 : 1e-4;
      check_run(got, cpu, dg_floor, tol, "cpu chunked f64");
      if (with_naive) check_run(got, naive, dg_floor_naive, tol, "naive f64");
    }
  }
}

}  // namespace

TEST_CASE("log_linear_attention cuda matrix: every version, T x G, K != V", "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  uint64_t seed = 100;
  for (int64_t T : {1, 63, 64, 65, 1000, 4097}) {
    for (int64_t G : {1, 4}) {
      Case c;
      c.name = "T " + std::to_string(T) + ", G " + std::to_string(G);
      c.B = 2, c.T = T, c.G = G, c.H = 4, c.K = 64, c.V = 32;
      check_case(c, seed++);
    }
  }
}

TEST_CASE("log_linear_attention cuda matrix: the benchmark's head dims and odd ones",
          "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  Case bench;  // the benchmark's shape, fewer heads: K = 128, V = 64, one group
  bench.name = "K 128 V 64";
  bench.B = 1, bench.T = 1000, bench.G = 1, bench.H = 4, bench.K = 128, bench.V = 64;
  check_case(bench, 200);
  Case odd;  // head dims that are no power of two, a small chunk
  odd.name = "K 40 V 24 chunk 32";
  odd.B = 2, odd.T = 333, odd.G = 1, odd.H = 3, odd.K = 40, odd.V = 24, odd.chunk = 32;
  check_case(odd, 201);
  Case wide;  // V > K, one group per head
  wide.name = "K 32 V 128";
  wide.B = 1, wide.T = 520, wide.G = 2, wide.H = 2, wide.K = 32, wide.V = 128;
  check_case(wide, 202);
  // 256: v2 runs them as narrower calls when a gradient is wanted (or TF32),
  // wide_heads.h; v1 as they are.
  Case wide_k;
  wide_k.name = "K 256 V 64";
  wide_k.B = 1, wide_k.T = 300, wide_k.G = 1, wide_k.H = 2, wide_k.K = 256, wide_k.V = 64;
  check_case(wide_k, 203);
  Case wide_v;
  wide_v.name = "K 64 V 256";
  wide_v.B = 2, wide_v.T = 130, wide_v.G = 2, wide_v.H = 2, wide_v.K = 64, wide_v.V = 256;
  check_case(wide_v, 204);
  Case tf32_panels;  // TF32 trains K = 128, V = 128 as V panels of 64 (its f32 backward tiles do not fit)
  tf32_panels.name = "K 128 V 128";
  tf32_panels.B = 1, tf32_panels.T = 260, tf32_panels.G = 1, tf32_panels.H = 2, tf32_panels.K = 128, tf32_panels.V = 128;
  check_case(tf32_panels, 207);
  Case wide_kv;
  wide_kv.name = "K 256 V 256";
  wide_kv.B = 1, wide_kv.T = 200, wide_kv.G = 1, wide_kv.H = 2, wide_kv.K = 256, wide_kv.V = 256;
  check_case(wide_kv, 205);
}

TEST_CASE("log_linear_attention cuda matrix: K or V = 256 forward without gradients", "[cuda][log_linear_attention]") {
  // Inference keeps v2's native 256 kernels in bf16 (no narrower calls):
  // the forward alone, against the CPU in f64 on the same bf16 inputs; and
  // f32 with TF32 allowed (always the narrower calls).
  LOGLIN_REQUIRE_CUDA();
  for (auto [K, V] : {std::pair<int64_t, int64_t>{256, 64}, {64, 256}, {256, 256}}) {
    INFO("K " << K << " V " << V);
    Generator gen(206 + K + V);
    const lla_test::Inputs in = lla_test::random_inputs(gen, 2, 200, 1, 2, K, V, 0, DType::f64);
    const lla_test::Inputs in16 = rounded_to_bf16(in);
    const Tensor want16 = log_linear_attention(in16.q, in16.k, in16.v, in16.g, in16.ls);
    const Tensor want = log_linear_attention(in.q, in.k, in.v, in.g, in.ls);
    NoGradGuard no_grad;
    auto on = [](const Tensor& t, DType d) { return t.to(d).to(Device::cuda()); };
    {
      KernelVersionScope scope("log_linear_attention", "v2");
      const Tensor o = log_linear_attention(on(in16.q, DType::bf16), on(in16.k, DType::bf16), on(in16.v, DType::bf16),
                                            on(in16.g, DType::f32), on(in16.ls, DType::bf16));
      CHECK(lla_test::rel_err(o.to(Device::cpu()).to(DType::f64), want16) < 2e-2);
    }
    {
      KernelVersionScope scope("log_linear_attention", "v2");
      Tf32Scope tf32(true);
      const Tensor o = log_linear_attention(on(in.q, DType::f32), on(in.k, DType::f32), on(in.v, DType::f32),
                                            on(in.g, DType::f32), on(in.ls, DType::f32));
      CHECK(lla_test::rel_err(o.to(Device::cpu()).to(DType::f64), want) < 1e-2);
    }
  }
}

TEST_CASE("log_linear_attention cuda matrix: packed sequences", "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  for (int64_t G : {1, 4}) {
    Case c;
    c.name = "cu_seqlens, G " + std::to_string(G);
    c.B = 1, c.T = 1000, c.G = G, c.H = 4, c.K = 64, c.V = 32;
    c.cu = {0, 1, 64, 129, 193, 1000};  // lengths 1, 63, 65, 64, 807
    check_case(c, 300 + G);
  }
  Case long_packed;
  long_packed.name = "cu_seqlens, T 4097";
  long_packed.B = 1, long_packed.T = 4097, long_packed.G = 1, long_packed.H = 2, long_packed.K = 64, long_packed.V = 32;
  long_packed.cu = {0, 2049, 4097};
  check_case(long_packed, 310);
}

TEST_CASE("log_linear_attention cuda matrix: initial and final states with gradients",
          "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  for (int64_t G : {1, 4}) {
    Case c;
    c.name = "initial + final state, G " + std::to_string(G);
    c.B = 2, c.T = 1000, c.G = G, c.H = 4, c.K = 64, c.V = 32;
    c.positions = {300, 1027};
    c.final_grad = true;
    check_case(c, 400 + G);
  }
  Case short_state;  // continuing inside a chunk and at a chunk start, T < chunk
  short_state.name = "initial + final state, T 63";
  short_state.B = 2, short_state.T = 63, short_state.G = 1, short_state.H = 4, short_state.K = 64, short_state.V = 32;
  short_state.positions = {5, 64};
  short_state.final_grad = true;
  check_case(short_state, 410);
  Case final_only;
  final_only.name = "final state only, T 65";
  final_only.B = 2, final_only.T = 65, final_only.G = 4, final_only.H = 4, final_only.K = 64, final_only.V = 32;
  final_only.final_grad = true;
  check_case(final_only, 411);
  Case packed;  // packed sequences, each from its own state (one at position 0)
  packed.name = "cu_seqlens + states";
  packed.B = 1, packed.T = 1000, packed.G = 2, packed.H = 4, packed.K = 64, packed.V = 32;
  packed.cu = {0, 400, 650, 1000};
  packed.positions = {64, 0, 517};
  packed.final_grad = true;
  check_case(packed, 412);
}

// One sequence of T tokens, H = 2, K = V = 32: every version that takes bf16
// natively against v1's f32 path on the same bf16-rounded inputs (the CPU
// reference would take minutes at long T).
static void check_fast_versions_against_v1(int64_t T, double dg_tol) {
  Case c;
  c.name = "T " + std::to_string(T);
  c.B = 1, c.T = T, c.G = 1, c.H = 2, c.K = 32, c.V = 32;
  Generator gen(500);
  const lla_test::Inputs in = rounded_to_bf16(lla_test::random_inputs(gen, c.B, c.T, c.G, c.H, c.K, c.V, 0, DType::f32));
  const Tensor dout = randn(in.v.shape(), DType::f32, gen).to(DType::bf16).to(DType::f32);
  Run want;
  {
    KernelVersionScope scope("log_linear_attention", "v1");
    want = run(c, in, Tensor(), dout, Tensor(), DType::bf16, Device::cuda());
  }
  const double dg_floor = lla_test::dg_terms_norm(want.o, dout);
  int fast = 0;
  for (const lla::KernelVersion& ver : lla::kernel_versions()) {
    if (ver.forward_bf16 == nullptr) continue;
    INFO("kernel version " << ver.name << ", T = " << T);
    KernelVersionScope scope("log_linear_attention", ver.name);
    const Run got = run(c, in, Tensor(), dout, Tensor(), DType::bf16, Device::cuda());
    check_run(got, want, dg_floor, 2e-2, "v1 (f32 compute) on the same bf16 inputs", dg_tol);
    ++fast;
  }
  CHECK(fast > 0);
}

TEST_CASE("log_linear_attention cuda matrix: T = 40000, the bf16 fast version against v1",
          "[cuda][log_linear_attention]") {
  // 625 chunks, 10 tree levels: v2's tree walks keep 12 levels in registers
  // here (8 below 257 chunks, 16 above 4096), so this is the middle variant.
  LOGLIN_REQUIRE_CUDA();
  check_fast_versions_against_v1(40000, 0.3);
}

TEST_CASE("log_linear_attention cuda matrix: T = 2^20, the bf16 fast version against v1",
          "[cuda][log_linear_attention][long]") {
  // 16384 chunks, 15 tree levels, 21 level scales. dg is a reverse
  // cumulative sum of per-row terms whose bf16-state rounding does not
  // telescope, while dg itself stays O(1) per row: its relative error grows
  // like sqrt(T) (v2 on an H100: 0.029 at T = 4097, 0.44 here). A known limit
  // of bf16 tree states (README), held to 0.8.
  LOGLIN_REQUIRE_CUDA();
  check_fast_versions_against_v1(int64_t(1) << 20, 0.8);
}

TEST_CASE("log_linear_attention cuda matrix: prefill, the final state without gradients",
          "[cuda][log_linear_attention]") {
  // Prefill for decoding: o and the final state under no_grad, which the
  // tensor-core version takes (a final state with a gradient runs v1), in
  // bf16 and in f32 with TF32, against the CPU in f64 (on the bf16-rounded
  // inputs for bf16). T within a chunk, at and past chunk ends, many chunks,
  // groups, packed sequences; an extra unused level (L one above the
  // minimum) must come back 0.
  LOGLIN_REQUIRE_CUDA();
  struct Prefill {
    int64_t B, T, G, H, K, V;
    std::vector<int64_t> cu;
  };
  const std::vector<Prefill> cases = {{2, 1, 1, 2, 64, 32, {}},      {2, 63, 2, 2, 32, 64, {}},
                                      {2, 64, 1, 4, 64, 32, {}},     {1, 65, 1, 2, 128, 64, {}},
                                      {2, 1000, 4, 4, 64, 32, {}},   {1, 4097, 1, 2, 64, 64, {}},
                                      {1, 1000, 2, 4, 64, 32, {0, 1, 64, 129, 193, 1000}}};
  uint64_t seed = 600;
  for (const Prefill& c : cases) {
    INFO("B " << c.B << " T " << c.T << " G " << c.G << " H " << c.H << " K " << c.K << " V " << c.V
              << (c.cu.empty() ? "" : " packed"));
    Generator gen(seed++);
    const lla_test::Inputs in =
        lla_test::random_inputs(gen, c.B, c.T, c.G, c.H, c.K, c.V, lla_test::min_levels(c.T - 1) + 1, DType::f64);
    LogLinearAttentionOptions opt;
    opt.return_final_state();
    if (!c.cu.empty()) opt.cu_seqlens(lla_test::cu_tensor(c.cu));
    NoGradGuard no_grad;
    auto cpu_ref = [&](const lla_test::Inputs& x) { return log_linear_attention_with_state(x.q, x.k, x.v, x.g, x.ls, opt); };
    const lla_test::Inputs in16 = rounded_to_bf16(in);
    const LogLinearAttentionOutput want = cpu_ref(in), want16 = cpu_ref(in16);
    auto on = [](const Tensor& t, DType d) { return t.to(d).to(Device::cuda()); };
    auto check = [&](const LogLinearAttentionOutput& got, const LogLinearAttentionOutput& ref, double tol) {
      CHECK(lla_test::rel_err(got.o.to(Device::cpu()).to(DType::f64), ref.o) < tol);
      REQUIRE(got.final_state.levels.defined());
      CHECK(got.final_state.positions == ref.final_state.positions);
      CHECK(lla_test::rel_err(got.final_state.levels.to(Device::cpu()).to(DType::f64), ref.final_state.levels) < tol);
      const int64_t L = ref.final_state.levels.size(2);  // the extra top level holds nothing
      const std::vector<double> top = got.final_state.levels.to(Device::cpu()).narrow(2, L - 1, 1).to_vector<double>();
      CHECK(std::all_of(top.begin(), top.end(), [](double x) { return x == 0.0; }));
    };
    {
      KernelVersionScope scope("log_linear_attention", "v2");
      INFO("bf16");
      check(log_linear_attention_with_state(on(in16.q, DType::bf16), on(in16.k, DType::bf16), on(in16.v, DType::bf16),
                                            on(in16.g, DType::f32), on(in16.ls, DType::bf16), opt),
            want16, 2e-2);
    }
    {
      KernelVersionScope scope("log_linear_attention", "v2");
      Tf32Scope tf32(true);
      INFO("f32 with TF32");
      check(log_linear_attention_with_state(on(in.q, DType::f32), on(in.k, DType::f32), on(in.v, DType::f32),
                                            on(in.g, DType::f32), on(in.ls, DType::f32), opt),
            want, 1e-2);
    }
  }
}

TEST_CASE("log_linear_attention cuda matrix: T = 40000, TF32 against v1 in f32", "[cuda][log_linear_attention]") {
  // The long-T counterpart of the matrix's TF32 mode: every version with
  // f32 launchers, TF32 allowed, against v1's full-f32 path on the same
  // inputs. 625 chunks, 10 tree levels; the tree is f32 on the TF32 path.
  LOGLIN_REQUIRE_CUDA();
  Case c;
  c.name = "T 40000 TF32";
  c.B = 1, c.T = 40000, c.G = 1, c.H = 2, c.K = 64, c.V = 64;
  Generator gen(501);
  const lla_test::Inputs in = lla_test::random_inputs(gen, c.B, c.T, c.G, c.H, c.K, c.V, 0, DType::f32);
  const Tensor dout = randn(in.v.shape(), DType::f32, gen);
  Run want;
  {
    KernelVersionScope scope("log_linear_attention", "v1");
    Tf32Scope full(false);
    want = run(c, in, Tensor(), dout, Tensor(), DType::f32, Device::cuda());
  }
  const double dg_floor = lla_test::dg_terms_norm(want.o, dout);
  for (const lla::KernelVersion& ver : lla::kernel_versions()) {
    if (ver.forward_f32 == nullptr) continue;
    INFO("kernel version " << ver.name);
    KernelVersionScope scope("log_linear_attention", ver.name);
    Tf32Scope tf32(true);
    const Run got = run(c, in, Tensor(), dout, Tensor(), DType::f32, Device::cuda());
    check_run(got, want, dg_floor, 1e-2, "v1 in f32 on the same inputs");
  }
}

TEST_CASE("log_linear_attention cuda: auto runs f32 on TF32 tensor cores only when allowed",
          "[cuda][log_linear_attention]") {
  // The switch decides the math: with it off, auto's f32 result matches the
  // f64 reference to f32 accuracy (v1); with it on, to TF32 accuracy (v2's
  // tensor cores), clearly worse than f32 and clearly better than bf16.
  LOGLIN_REQUIRE_CUDA();
  KernelVersionScope scope("log_linear_attention", "auto");
  Generator gen(502);
  const lla_test::Inputs in = lla_test::random_inputs(gen, 2, 300, 1, 4, 64, 64, 0, DType::f64);
  const Tensor want = log_linear_attention(in.q, in.k, in.v, in.g, in.ls);
  auto err_with = [&](bool tf32) {
    Tf32Scope s(tf32);
    auto c = [](const Tensor& t) { return t.to(DType::f32).to(Device::cuda()); };
    const Tensor o = log_linear_attention(c(in.q), c(in.k), c(in.v), c(in.g), c(in.ls));
    return lla_test::rel_err(o.to(Device::cpu()).to(DType::f64), want);
  };
  const double err_f32 = err_with(false), err_tf32 = err_with(true);
  INFO("rel err: f32 " << err_f32 << ", TF32 " << err_tf32);
  CHECK(err_f32 < 1e-5);
  CHECK(err_tf32 > 1e-5);
  CHECK(err_tf32 < 1e-2);
  // Named v2 without the switch: a clear refusal that says how to allow it.
  Tf32Scope off(false);
  KernelVersionScope v2("log_linear_attention", "v2");
  auto c = [](const Tensor& t) { return t.to(DType::f32).to(Device::cuda()); };
  const std::string msg =
      loglin_test::error_message([&] { (void)log_linear_attention(c(in.q), c(in.k), c(in.v), c(in.g), c(in.ls)); });
  CHECK(loglin_test::contains(msg, "TF32 not allowed"));
  CHECK(loglin_test::contains(msg, "float32 matmul precision"));
}

TEST_CASE("log_linear_attention kernel versions: registry and selection", "[log_linear_attention]") {
  // Runs on every build: the names, the setter and its errors. In builds
  // without CUDA the registry is empty.
  const std::string before = kernel_version_choice("log_linear_attention");
  CHECK(loglin_test::contains(loglin_test::error_message([] { set_kernel_version("log_linear_attention", "v999"); }), "v999"));
  CHECK(kernel_version_choice("log_linear_attention") == before);
  for (const lla::KernelVersion& v : lla::kernel_versions()) {
    INFO("version " << v.name);
    CHECK(lla::find_kernel_version(v.name) == &v);
    CHECK(v.workspace_bytes != nullptr);
    CHECK((v.forward_f32 != nullptr || v.forward_bf16 != nullptr));
    {
      KernelVersionScope scope("log_linear_attention", v.name);
      CHECK(kernel_version_choice("log_linear_attention") == v.name);
    }
    CHECK(kernel_version_choice("log_linear_attention") == before);
  }
#if LOGLIN_WITH_CUDA
  REQUIRE(lla::find_kernel_version("v1") != nullptr);
  CHECK(lla::find_kernel_version("v1")->forward_f64 != nullptr);
#endif
  set_kernel_version("log_linear_attention", "auto");
  CHECK(kernel_version_choice("log_linear_attention") == "auto");
  set_kernel_version("log_linear_attention", "");
  CHECK(kernel_version_choice("log_linear_attention") == before);
}

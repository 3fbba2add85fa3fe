// log_linear_attention and its decoding step on CUDA against the CPU path at
// realistic sizes: many chunks and tree levels, T not a multiple of the
// chunk, G < H, packed sequences, initial and final states, every gradient.
// f64 must agree to rounding, f32 within the long-reduction tolerance, bf16
// inputs within 1e-2 (forward) and f32 inputs under bf16 autocast within
// 2e-2 (3e-2 for the gradients).
#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/engine.h"
#include "catch.h"
#include "ops/autocast.h"
#include "ops/kernel_registry.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

using lla_test::Run;
using lla_test::run_fwd_bwd;

void compare(const lla_test::Inputs& in, const LogLinearAttentionOptions& opt, const Tensor& state = Tensor(),
             const std::vector<int64_t>& positions = {}, bool final_grad = false) {
  Generator gen(99);
  const Tensor dout = randn(in.v.shape(), DType::f64, gen);
  Tensor dfin;
  if (final_grad) {
    const int64_t N = state.defined() ? state.size(0) : in.q.size(0);
    dfin = randn({N, in.v.size(2), in.ls.size(3), in.q.size(3), in.v.size(3)}, DType::f64, gen);
  }
  for (DType dt : {DType::f64, DType::f32}) {
    const double tol = dt == DType::f64 ? 1e-10 : 1e-4;
    INFO("dtype " << dtype_name(dt));
    const Run gpu = run_fwd_bwd(in, dt, Device::cuda(), opt, state, positions, dout, dfin);
    const Run cpu = run_fwd_bwd(in, dt, Device::cpu(), opt, state, positions, dout, dfin);
    CHECK(rel_err(gpu.o, cpu.o) < tol);
    CHECK(rel_err(gpu.dq, cpu.dq) < tol);
    CHECK(rel_err(gpu.dk, cpu.dk) < tol);
    CHECK(rel_err(gpu.dv, cpu.dv) < tol);
    CHECK(lla_test::dg_err(gpu.dg, cpu.dg, cpu.dv) < tol);
    CHECK(rel_err(gpu.dls, cpu.dls) < tol);
    if (final_grad) {
      CHECK(rel_err(gpu.fin, cpu.fin) < tol);
    }
    if (state.defined()) {
      REQUIRE(gpu.dstate.defined());
      CHECK(rel_err(gpu.dstate, cpu.dstate) < tol);
    }
  }
}

lla_test::Inputs inputs(uint64_t seed, int64_t B, int64_t T, int64_t G, int64_t H, int64_t K, int64_t V,
                        int64_t L = 0) {
  Generator gen(seed);
  return lla_test::random_inputs(gen, B, T, G, H, K, V, L, DType::f64);
}

}  // namespace

TEST_CASE("log_linear_attention cuda: B2 H4 G2 T1000 K=V=64 matches the cpu", "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  const lla_test::Inputs in = inputs(1, 2, 1000, 2, 4, 64, 64);
  for (int64_t chunk : {64, 16}) {
    INFO("chunk " << chunk);
    compare(in, LogLinearAttentionOptions().chunk_size(chunk));
  }
}

TEST_CASE("log_linear_attention cuda: odd sizes, G = 1 and G = H", "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  compare(inputs(2, 3, 333, 1, 3, 40, 24), LogLinearAttentionOptions().chunk_size(32));
  compare(inputs(3, 1, 1, 2, 2, 8, 8), LogLinearAttentionOptions());  // T = 1
  compare(inputs(4, 1, 129, 4, 4, 300, 20), LogLinearAttentionOptions().chunk_size(128));  // K > block
}

TEST_CASE("log_linear_attention cuda: cu_seqlens with three sequences", "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  const lla_test::Inputs in = inputs(5, 1, 1000, 2, 4, 64, 64);
  const Tensor cu = lla_test::cu_tensor({0, 137, 600, 1000});
  compare(in, LogLinearAttentionOptions().chunk_size(64).cu_seqlens(cu));
  // cu_seqlens may live on the device too.
  compare(in, LogLinearAttentionOptions().chunk_size(64).cu_seqlens(cu.to(Device::cuda())));
}

TEST_CASE("log_linear_attention cuda: initial state, final state and their gradients",
          "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  const int64_t H = 4, K = 64, V = 64, L = 12;  // last position 1027 + 999 needs 12 levels
  const lla_test::Inputs in = inputs(6, 2, 1000, 2, H, K, V, L);
  Generator gen(7);
  const Tensor state = mul(randn({2, H, L, K, V}, DType::f64, gen), 0.1);
  compare(in, LogLinearAttentionOptions().chunk_size(64), state, {300, 1027}, true);
  // Without an initial state, the final state's gradient alone.
  compare(in, LogLinearAttentionOptions().chunk_size(64), Tensor(), {}, true);
  // Packed sequences, each continuing from its own state (one at position 0).
  const lla_test::Inputs packed = inputs(8, 1, 1000, 2, H, K, V, L);
  Tensor st3 = mul(randn({3, H, L, K, V}, DType::f64, gen), 0.1).contiguous();
  core::fill(st3.narrow(0, 1, 1), 0.0);
  compare(packed, LogLinearAttentionOptions().chunk_size(64).cu_seqlens(lla_test::cu_tensor({0, 400, 650, 1000})),
          st3, {64, 0, 517}, true);
}

TEST_CASE("log_linear_attention cuda: bf16 inputs", "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  const lla_test::Inputs in = inputs(9, 2, 300, 1, 2, 32, 32);
  auto bf = [](const Tensor& t, Device d) { return t.to(DType::bf16).to(d); };
  const Tensor g = in.g.to(DType::f32);
  const Tensor gpu = log_linear_attention(bf(in.q, Device::cuda()), bf(in.k, Device::cuda()),
                                          bf(in.v, Device::cuda()), g.to(Device::cuda()), bf(in.ls, Device::cuda()));
  const Tensor cpu = log_linear_attention(bf(in.q, Device::cpu()), bf(in.k, Device::cpu()), bf(in.v, Device::cpu()),
                                          g, bf(in.ls, Device::cpu()));
  REQUIRE(gpu.dtype() == DType::bf16);
  CHECK(rel_err(gpu.to(Device::cpu()), cpu) < 1e-2);
}

TEST_CASE("log_linear_attention cuda: f32 inputs under bf16 autocast run v2 in bf16 and return f32",
          "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  const int64_t B = 2, T = 200, G = 1, H = 2, K = 64, V = 32;
  Generator gen(12);
  const lla_test::Inputs in = lla_test::random_inputs(gen, B, T, G, H, K, V);  // f32, L = min_levels(T - 1)
  const Tensor dout = randn({B, T, H, V}, DType::f32, gen);

  lla_test::Inputs cpu = lla_test::with_grad(in);
  const Tensor o_cpu = log_linear_attention(cpu.q, cpu.k, cpu.v, cpu.g, cpu.ls);
  o_cpu.backward(dout);

  auto leaf = [](const Tensor& t) {
    Tensor x = t.to(Device::cuda()).detach();
    x.set_requires_grad(true);
    return x;
  };
  Tensor q = leaf(in.q), k = leaf(in.k), v = leaf(in.v), g = leaf(in.g), ls = leaf(in.ls);
  Tensor o;
  {
    // v2 has no f32 launchers: f32 inputs that missed the autocast path
    // would be refused here, not silently computed in f32.
    KernelVersionScope scope("log_linear_attention", "v2");
    AutocastGuard autocast(DType::bf16);
    o = log_linear_attention(q, k, v, g, ls);
  }
  REQUIRE(o.dtype() == DType::f32);
  REQUIRE(o.device().is_cuda());
  CHECK(rel_err(o.to(Device::cpu()), o_cpu) < 2e-2);
  // The backward runs after both scopes, as in training; the record keeps
  // the version and the bf16 copies.
  o.backward(dout.to(Device::cuda()));
  struct Grad {
    const char* name;
    Tensor got, want;
  };
  for (const Grad& gr : {Grad{"dq", q.grad(), cpu.q.grad()}, Grad{"dk", k.grad(), cpu.k.grad()},
                         Grad{"dv", v.grad(), cpu.v.grad()}, Grad{"dg", g.grad(), cpu.g.grad()},
                         Grad{"dls", ls.grad(), cpu.ls.grad()}}) {
    INFO(gr.name);
    REQUIRE(gr.got.defined());
    CHECK(gr.got.dtype() == DType::f32);
    CHECK(rel_err(gr.got.to(Device::cpu()), gr.want) < 3e-2);
  }
}

TEST_CASE("log_linear_attention cuda: step after a prefill continues the full forward",
          "[cuda][log_linear_attention]") {
  LOGLIN_REQUIRE_CUDA();
  const int64_t B = 2, T = 710, P = 700, G = 2, H = 4, K = 64, V = 64;
  for (DType dt : {DType::f64, DType::f32}) {
    INFO("dtype " << dtype_name(dt));
    const double tol = dt == DType::f64 ? 1e-10 : 1e-4;
    lla_test::Inputs in = inputs(10, B, T, G, H, K, V);
    const DType gdt = dt == DType::f64 ? DType::f64 : DType::f32;
    in = {in.q.to(dt), in.k.to(dt), in.v.to(dt), in.g.to(gdt), in.ls.to(dt)};
    const Tensor full = log_linear_attention(in.q, in.k, in.v, in.g, in.ls);
    const Device dev = Device::cuda();
    auto head = [&](const Tensor& x) { return x.narrow(1, 0, P).to(dev); };
    LogLinearState st = log_linear_attention_with_state(head(in.q), head(in.k), head(in.v), head(in.g),
                                                        head(in.ls), LogLinearAttentionOptions().return_final_state())
                            .final_state;
    REQUIRE(st.levels.device().is_cuda());
    LogLinearState st_cpu{st.levels.to(Device::cpu()), st.positions};
    for (int64_t t = P; t < T; ++t) {
      INFO("position " << t);
      auto at = [&](const Tensor& x) { return x.select(1, t).contiguous(); };
      const Tensor o = log_linear_attention_step(st, at(in.q).to(dev), at(in.k).to(dev), at(in.v).to(dev),
                                                 at(in.g).to(dev), at(in.ls).to(dev));
      const Tensor o_cpu = log_linear_attention_step(st_cpu, at(in.q), at(in.k), at(in.v), at(in.g), at(in.ls));
      REQUIRE(o.device().is_cuda());
      CHECK(rel_err(o.to(Device::cpu()), at(full)) < tol);
      CHECK(rel_err(o.to(Device::cpu()), o_cpu) < tol);
    }
    CHECK(rel_err(st.levels.to(Device::cpu()), st_cpu.levels) < tol);
  }
}

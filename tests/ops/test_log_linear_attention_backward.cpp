// Log-linear attention backward: the hand-written chunked backward (through
// autograd) against the naive T x T gradients, in f32, for every input.
#include "catch.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"

using namespace loglin;
using namespace lla_test;

namespace {

// Runs the op with autograd and compares every gradient with the naive one.
void check_grads(const Inputs& in, const LogLinearAttentionOptions& opt, Generator& gen, double tol,
                 const Tensor& cu = Tensor()) {
  const Inputs x = with_grad(in);
  const Tensor o = log_linear_attention(x.q, x.k, x.v, x.g, x.ls, opt);
  const Tensor dout = randn(o.shape(), o.dtype(), gen);
  o.backward(dout);
  const LogLinearAttentionGrads ref = log_linear_attention_naive_backward(in.q, in.k, in.v, in.g, in.ls, dout, cu);
  const std::pair<const char*, std::pair<Tensor, Tensor>> pairs[] = {
      {"dq", {x.q.grad(), ref.dq}}, {"dk", {x.k.grad(), ref.dk}}, {"dv", {x.v.grad(), ref.dv}},
      {"dg", {x.g.grad(), ref.dg}}, {"dlevel_scales", {x.ls.grad(), ref.dlevel_scales}}};
  for (const auto& [name, ab] : pairs) {
    INFO(name);
    REQUIRE(ab.first.defined());
    CHECK(ab.first.shape() == ab.second.shape());
    const double err = rel_err(ab.first, ab.second);
    if (in.q.dtype() == DType::f32) note(name, err);
    CHECK(err < tol);
  }
}

}  // namespace

TEST_CASE("log_linear_attention: chunked backward equals naive gradients", "[ops][log_linear_attention]") {
  struct Config {
    int64_t B, G, H, K, V;
  };
  const std::vector<Config> configs = {{2, 1, 4, 8, 5}, {1, 2, 4, 1, 3}, {1, 4, 4, 5, 1}};
  Generator gen(31);
  for (int64_t T : {1, 2, 63, 64, 65, 127, 128, 129, 1000}) {
    for (const Config& c : configs) {
      if (T == 1000 && c.B == 1 && c.G == 4) continue;  // two configs at T = 1000 keep the suite quick
      const Inputs in = random_inputs(gen, c.B, T, c.G, c.H, c.K, c.V);
      for (int64_t chunk : {16, 32, 64}) {
        INFO("T " << T << " B " << c.B << " G " << c.G << " H " << c.H << " K " << c.K << " V " << c.V
                  << " chunk " << chunk);
        check_grads(in, LogLinearAttentionOptions().chunk_size(chunk), gen, 1e-4);
      }
    }
  }
}

TEST_CASE("log_linear_attention: f64 backward equals naive gradients to rounding", "[ops][log_linear_attention]") {
  Generator gen(32);
  const Inputs in = random_inputs(gen, 1, 100, 2, 4, 3, 5, 0, DType::f64, 0.2);
  check_grads(in, LogLinearAttentionOptions().chunk_size(8), gen, 1e-10);
}

TEST_CASE("log_linear_attention: strong decay and large level scales", "[ops][log_linear_attention]") {
  // Decays near exp(-1) per step: far sources vanish; the chunked form must
  // not overflow or lose the near ones.
  Generator gen(33);
  Inputs in = random_inputs(gen, 1, 300, 1, 2, 4, 4, 0, DType::f32, 1.0);
  in.ls = rand(in.ls.shape(), 0.0, 4.0, DType::f32, gen);
  const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls);
  CHECK(rel_err(log_linear_attention(in.q, in.k, in.v, in.g, in.ls, LogLinearAttentionOptions().chunk_size(32)), ref) <
        1e-5);
  check_grads(in, LogLinearAttentionOptions().chunk_size(32), gen, 1e-4);
}

TEST_CASE("log_linear_attention: gradcheck cases (f64 finite differences)", "[ops][log_linear_attention]") {
  // The registry's cases for this op (also run by the [gradcheck] test): every
  // input, G < H, varlen, initial state and final state.
  const auto rows = run_gradcheck("log_linear_attention", 0);
  CHECK(rows.size() >= 5);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": " << row.result.message);
    CHECK(row.result.passed);
  }
}

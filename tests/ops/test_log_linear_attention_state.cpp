// Log-linear attention across calls: packed variable-length batches, the
// final state, continuing from an initial state (at any position), recurrent
// decoding with step, and gradients through the state.
#include "catch.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"

using namespace loglin;
using namespace lla_test;

namespace {

Inputs slice_t(const Inputs& in, int64_t start, int64_t len) {
  return {in.q.narrow(1, start, len), in.k.narrow(1, start, len), in.v.narrow(1, start, len),
          in.g.narrow(1, start, len), in.ls.narrow(1, start, len)};
}

LogLinearAttentionOutput run(const Inputs& in, const LogLinearAttentionOptions& opt) {
  return log_linear_attention_with_state(in.q, in.k, in.v, in.g, in.ls, opt);
}

// Row t of every input as the [N, ...] tensors step takes (batch b = sequence).
Tensor at(const Tensor& x, int64_t t) { return x.select(1, t).contiguous(); }

}  // namespace

TEST_CASE("log_linear_attention: varlen equals each sequence alone", "[ops][log_linear_attention]") {
  const std::vector<int64_t> lens = {1, 63, 64, 200};
  std::vector<int64_t> cu = {0};
  for (int64_t n : lens) cu.push_back(cu.back() + n);
  const int64_t T = cu.back(), H = 4, G = 2, K = 5, V = 3;
  Generator gen(41);
  const Inputs in = random_inputs(gen, 1, T, G, H, K, V);
  const Tensor cut = cu_tensor(cu);
  const Tensor naive = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls, cut);
  for (int64_t chunk : {16, 64}) {
    INFO("chunk " << chunk);
    const auto opt = LogLinearAttentionOptions().chunk_size(chunk).cu_seqlens(cut).return_final_state();
    const Inputs x = with_grad(in);
    const LogLinearAttentionOutput packed = run(x, opt);
    CHECK(note("o", rel_err(packed.o, naive)) < 1e-5);
    REQUIRE(packed.final_state.levels.shape() == (Shape{4, H, in.ls.size(3), K, V}));
    CHECK(packed.final_state.positions == lens);
    const Tensor dout = randn(packed.o.shape(), DType::f32, gen);
    packed.o.backward(dout);
    for (size_t i = 0; i < lens.size(); ++i) {
      INFO("sequence " << i << " of length " << lens[i]);
      const Inputs alone_in = slice_t(in, cu[i], lens[i]);
      const Inputs alone_x = with_grad(alone_in);
      const LogLinearAttentionOutput alone =
          run(alone_x, LogLinearAttentionOptions().chunk_size(chunk).return_final_state());
      CHECK(rel_err(packed.o.narrow(1, cu[i], lens[i]), alone.o) < 1e-6);
      CHECK(rel_err(packed.final_state.levels.narrow(0, i, 1), alone.final_state.levels) < 1e-6);
      alone.o.backward(dout.narrow(1, cu[i], lens[i]).contiguous());
      CHECK(rel_err(x.q.grad().narrow(1, cu[i], lens[i]), alone_x.q.grad()) < 1e-5);
      CHECK(rel_err(x.k.grad().narrow(1, cu[i], lens[i]), alone_x.k.grad()) < 1e-5);
      CHECK(rel_err(x.v.grad().narrow(1, cu[i], lens[i]), alone_x.v.grad()) < 1e-5);
      CHECK(rel_err(x.g.grad().narrow(1, cu[i], lens[i]), alone_x.g.grad()) < 1e-5);
      CHECK(rel_err(x.ls.grad().narrow(1, cu[i], lens[i]), alone_x.ls.grad()) < 1e-5);
    }
    // And the packed gradients against the naive ones.
    const LogLinearAttentionGrads ref = log_linear_attention_naive_backward(in.q, in.k, in.v, in.g, in.ls, dout, cut);
    CHECK(note("dq", rel_err(x.q.grad(), ref.dq)) < 1e-4);
    CHECK(note("dk", rel_err(x.k.grad(), ref.dk)) < 1e-4);
    CHECK(note("dv", rel_err(x.v.grad(), ref.dv)) < 1e-4);
    CHECK(note("dg", rel_err(x.g.grad(), ref.dg)) < 1e-4);
    CHECK(note("dlevel_scales", rel_err(x.ls.grad(), ref.dlevel_scales)) < 1e-4);
  }
}

TEST_CASE("log_linear_attention: a forward from a state continues the sequence", "[ops][log_linear_attention]") {
  // forward(x1) -> state, forward(x2, initial = state) == tail of forward(x1 ++ x2),
  // for split points on and off chunk boundaries.
  Generator gen(42);
  const int64_t B = 2, G = 1, H = 2, K = 4, V = 3;
  for (int64_t P : {1, 5, 16, 37, 64, 100}) {
    for (int64_t T2 : {1, 7, 40, 90}) {
      INFO("prefix " << P << " then " << T2);
      const Inputs full = random_inputs(gen, B, P + T2, G, H, K, V);
      const auto opt = LogLinearAttentionOptions().chunk_size(16).return_final_state();
      const LogLinearAttentionOutput whole = run(full, opt);
      const LogLinearAttentionOutput first = run(slice_t(full, 0, P), opt);
      CHECK(first.final_state.positions == std::vector<int64_t>{P, P});
      const LogLinearAttentionOutput second =
          run(slice_t(full, P, T2), LogLinearAttentionOptions(opt).initial_state(first.final_state));
      CHECK(rel_err(second.o, whole.o.narrow(1, P, T2)) < 1e-5);
      CHECK(rel_err(second.final_state.levels, whole.final_state.levels) < 1e-5);
      CHECK(second.final_state.positions == std::vector<int64_t>{P + T2, P + T2});
    }
  }
}

TEST_CASE("log_linear_attention: prefill then step equals one long forward", "[ops][log_linear_attention]") {
  Generator gen(43);
  const int64_t B = 2, T = 150, G = 2, H = 4, K = 4, V = 3;
  const Inputs full = random_inputs(gen, B, T, G, H, K, V);
  const Tensor o_full = log_linear_attention(full.q, full.k, full.v, full.g, full.ls);
  for (int64_t prefill : {0, 1, 70, 128}) {
    INFO("prefill " << prefill);
    LogLinearState st = LogLinearState::zeros(B, H, full.ls.size(3), K, V);
    if (prefill > 0) {
      const LogLinearAttentionOutput pre =
          run(slice_t(full, 0, prefill), LogLinearAttentionOptions().chunk_size(32).return_final_state());
      CHECK(rel_err(pre.o, o_full.narrow(1, 0, prefill)) < 1e-5);
      st = pre.final_state;
    }
    double worst_step = 0;
    for (int64_t t = prefill; t < T; ++t) {
      const Tensor o = log_linear_attention_step(st, at(full.q, t), at(full.k, t), at(full.v, t), at(full.g, t),
                                                 at(full.ls, t));
      worst_step = std::max(worst_step, rel_err(o, at(o_full, t)));
    }
    CHECK(worst_step < 1e-5);
    CHECK(st.positions == std::vector<int64_t>{T, T});
  }
}

TEST_CASE("log_linear_attention: forward, step, forward again", "[ops][log_linear_attention]") {
  // The state a step leaves is one a forward continues from, and back.
  Generator gen(46);
  const int64_t B = 1, T = 200, G = 1, H = 2, K = 3, V = 4;
  const Inputs full = random_inputs(gen, B, T, G, H, K, V);
  const Tensor o_full = log_linear_attention(full.q, full.k, full.v, full.g, full.ls);
  const auto opt = LogLinearAttentionOptions().chunk_size(16).return_final_state();
  LogLinearState st = run(slice_t(full, 0, 70), opt).final_state;
  for (int64_t t = 70; t < 83; ++t)
    log_linear_attention_step(st, at(full.q, t), at(full.k, t), at(full.v, t), at(full.g, t), at(full.ls, t));
  const LogLinearAttentionOutput rest = run(slice_t(full, 83, T - 83), LogLinearAttentionOptions(opt).initial_state(st));
  CHECK(rel_err(rest.o, o_full.narrow(1, 83, T - 83)) < 1e-5);
  CHECK(rest.final_state.positions == std::vector<int64_t>{T});
}

TEST_CASE("log_linear_attention: varlen with initial states and final states", "[ops][log_linear_attention]") {
  // Three packed sequences, each continuing its own earlier part.
  Generator gen(44);
  const int64_t H = 2, G = 1, K = 3, V = 2;
  const std::vector<int64_t> before = {9, 64, 3}, lens = {20, 5, 70};
  std::vector<Inputs> wholes;
  std::vector<int64_t> cu = {0};
  const int64_t L = 9;
  for (size_t i = 0; i < lens.size(); ++i) {
    wholes.push_back(random_inputs(gen, 1, before[i] + lens[i], G, H, K, V, L));
    cu.push_back(cu.back() + lens[i]);
  }
  // The initial states from each sequence's first part, stacked along N.
  std::vector<Tensor> levels, q, k, v, g, ls;
  std::vector<Tensor> expected_o, expected_levels;
  for (size_t i = 0; i < lens.size(); ++i) {
    const auto opt = LogLinearAttentionOptions().chunk_size(16).return_final_state();
    levels.push_back(run(slice_t(wholes[i], 0, before[i]), opt).final_state.levels);
    const Inputs tail = slice_t(wholes[i], before[i], lens[i]);
    q.push_back(tail.q), k.push_back(tail.k), v.push_back(tail.v), g.push_back(tail.g), ls.push_back(tail.ls);
    const LogLinearAttentionOutput w = run(wholes[i], opt);
    expected_o.push_back(w.o.narrow(1, before[i], lens[i]));
    expected_levels.push_back(w.final_state.levels);
  }
  const LogLinearState st{cat(levels, 0), before};
  const LogLinearAttentionOutput out =
      log_linear_attention_with_state(cat(q, 1), cat(k, 1), cat(v, 1), cat(g, 1), cat(ls, 1),
                                      LogLinearAttentionOptions()
                                          .chunk_size(16)
                                          .cu_seqlens(cu_tensor(cu))
                                          .initial_state(st)
                                          .return_final_state());
  for (size_t i = 0; i < lens.size(); ++i) {
    INFO("sequence " << i);
    CHECK(rel_err(out.o.narrow(1, cu[i], lens[i]), expected_o[i]) < 1e-5);
    CHECK(rel_err(out.final_state.levels.narrow(0, i, 1), expected_levels[i]) < 1e-5);
    CHECK(out.final_state.positions[i] == before[i] + lens[i]);
  }
}

TEST_CASE("log_linear_attention: gradients flow through the state", "[ops][log_linear_attention]") {
  // Path A: first part -> final state -> second part from that state.
  // Path B: one forward over everything. A loss on the second part's output
  // and final state must give the same gradients for every input token,
  // which exercises the backward into the initial state and from the final one.
  Generator gen(45);
  const int64_t B = 2, T = 100, G = 2, H = 4, K = 3, V = 2;
  for (int64_t P : {37, 64}) {
    INFO("split at " << P);
    const Inputs in = random_inputs(gen, B, T, G, H, K, V, 0, DType::f32, 0.05);
    const auto opt = LogLinearAttentionOptions().chunk_size(16).return_final_state();
    const Tensor r_o = randn({B, T - P, H, V}, DType::f32, gen);
    const Tensor r_f = randn({B, H, in.ls.size(3), K, V}, DType::f32, gen);

    const Inputs a = with_grad(in);
    const LogLinearAttentionOutput first = run(slice_t(a, 0, P), opt);
    const LogLinearAttentionOutput second =
        run(slice_t(a, P, T - P), LogLinearAttentionOptions(opt).initial_state(first.final_state));
    (sum(second.o * r_o) + sum(second.final_state.levels * r_f)).backward();

    const Inputs b = with_grad(in);
    const LogLinearAttentionOutput whole = run(b, opt);
    (sum(whole.o.narrow(1, P, T - P) * r_o) + sum(whole.final_state.levels * r_f)).backward();

    CHECK(rel_err(a.q.grad(), b.q.grad()) < 1e-4);
    CHECK(rel_err(a.k.grad(), b.k.grad()) < 1e-4);
    CHECK(rel_err(a.v.grad(), b.v.grad()) < 1e-4);
    CHECK(rel_err(a.g.grad(), b.g.grad()) < 1e-4);
    CHECK(rel_err(a.ls.grad(), b.ls.grad()) < 1e-4);
  }
}

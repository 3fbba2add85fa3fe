// Log-linear attention forward: the chunked op against the naive T x T
// answer key over awkward sizes, chunk sizes, head groupings and head dims;
// the Mamba-2 cross-check; dtypes and strided inputs.
#include "catch.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"

using namespace loglin;
using namespace lla_test;

namespace {

struct Config {
  int64_t B, G, H, K, V, extra_levels;
};

}  // namespace

TEST_CASE("log_linear_attention: chunked forward equals naive", "[ops][log_linear_attention]") {
  const std::vector<int64_t> Ts = {1, 2, 63, 64, 65, 127, 128, 129, 1000};
  // G = 1, G = H, G = 2 with H = 4; K != V including K = 1 and V = 1; spare levels.
  const std::vector<Config> configs = {{2, 1, 4, 8, 5, 0}, {1, 4, 4, 5, 8, 2}, {1, 2, 4, 1, 3, 0}, {1, 1, 2, 4, 1, 1}};
  Generator gen(11);
  for (int64_t T : Ts) {
    for (const Config& c : configs) {
      const Inputs in = random_inputs(gen, c.B, T, c.G, c.H, c.K, c.V, min_levels(T - 1) + c.extra_levels);
      const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls);
      for (int64_t chunk : {16, 32, 64}) {
        const Tensor o = log_linear_attention(in.q, in.k, in.v, in.g, in.ls,
                                              LogLinearAttentionOptions().chunk_size(chunk));
        INFO("T " << T << " B " << c.B << " G " << c.G << " H " << c.H << " K " << c.K << " V " << c.V
                  << " chunk " << chunk);
        REQUIRE(o.shape() == (Shape{c.B, T, c.H, c.V}));
        CHECK(note("o", rel_err(o, ref)) < 1e-5);
      }
    }
  }
}

TEST_CASE("log_linear_attention: tiny and odd chunk sizes", "[ops][log_linear_attention]") {
  // Chunk 1 and 2 put almost everything in the range tree; chunk > T puts
  // everything in one chunk.
  Generator gen(12);
  for (int64_t T : {1, 3, 17, 40}) {
    const Inputs in = random_inputs(gen, 1, T, 1, 2, 3, 2);
    const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls);
    for (int64_t chunk : {1, 2, 4, 128}) {
      INFO("T " << T << " chunk " << chunk);
      CHECK(rel_err(log_linear_attention(in.q, in.k, in.v, in.g, in.ls, LogLinearAttentionOptions().chunk_size(chunk)),
                    ref) < 1e-5);
    }
  }
}

TEST_CASE("log_linear_attention: f64 agrees with naive to rounding", "[ops][log_linear_attention]") {
  Generator gen(13);
  const Inputs in = random_inputs(gen, 2, 129, 2, 4, 6, 7, 0, DType::f64, 0.1);
  const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls);
  const Tensor o = log_linear_attention(in.q, in.k, in.v, in.g, in.ls, LogLinearAttentionOptions().chunk_size(16));
  CHECK(o.dtype() == DType::f64);
  CHECK(rel_err(o, ref) < 1e-12);
}

TEST_CASE("log_linear_attention: level scales of 1 give Mamba-2 (scalar-decay linear attention)",
          "[ops][log_linear_attention]") {
  // Independent reference: the recurrence h_t = exp(g_t) h_{t-1} + k_t v_t^T, o_t = h_t^T q_t, in double.
  Generator gen(14);
  const int64_t B = 2, T = 300, G = 1, H = 3, K = 6, V = 4, L = min_levels(T - 1) + 1;
  Inputs in = random_inputs(gen, B, T, G, H, K, V, L, DType::f32, 0.05);
  in.ls = Tensor::ones({B, T, H, L});
  const auto q = in.q.to_vector<double>(), k = in.k.to_vector<double>(), v = in.v.to_vector<double>(),
             g = in.g.to_vector<double>();
  std::vector<double> o(static_cast<size_t>(B * T * H * V));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> state(static_cast<size_t>(K * V), 0.0);
      for (int64_t t = 0; t < T; ++t) {
        const int64_t r = b * T + t;
        const double decay = std::exp(g[r * H + h]);
        for (int64_t x = 0; x < K; ++x)
          for (int64_t y = 0; y < V; ++y)
            state[x * V + y] = decay * state[x * V + y] + k[r * K + x] * v[(r * H + h) * V + y];
        for (int64_t y = 0; y < V; ++y) {
          double acc = 0;
          for (int64_t x = 0; x < K; ++x) acc += q[r * K + x] * state[x * V + y];
          o[(r * H + h) * V + y] = acc;
        }
      }
    }
  }
  const Tensor mamba2 = Tensor::from_vector(o, {B, T, H, V});
  for (int64_t chunk : {16, 64}) {
    INFO("chunk " << chunk);
    CHECK(rel_err(log_linear_attention(in.q, in.k, in.v, in.g, in.ls, LogLinearAttentionOptions().chunk_size(chunk)),
                  mamba2) < 1e-5);
  }
  CHECK(rel_err(log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls), mamba2) < 1e-6);  // naive's o is f32
}

TEST_CASE("log_linear_attention: strided and bf16 inputs", "[ops][log_linear_attention]") {
  Generator gen(15);
  const int64_t B = 2, T = 70, G = 2, H = 2, K = 4, V = 3;
  const Inputs in = random_inputs(gen, B, T, G, H, K, V);
  const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls);
  // q as a permuted view of a [B, G, T, K] tensor.
  const Tensor q_strided = in.q.permute({0, 2, 1, 3}).contiguous().permute({0, 2, 1, 3});
  REQUIRE_FALSE(q_strided.is_contiguous());
  CHECK(rel_err(log_linear_attention(q_strided, in.k, in.v, in.g, in.ls), ref) < 1e-5);

  // bf16 q, k, v, level_scales are computed in f32; o comes back in bf16.
  const Tensor qb = in.q.to(DType::bf16), kb = in.k.to(DType::bf16), vb = in.v.to(DType::bf16),
               lb = in.ls.to(DType::bf16);
  const Tensor ob = log_linear_attention(qb, kb, vb, in.g, lb);
  CHECK(ob.dtype() == DType::bf16);
  const Tensor ref_b = log_linear_attention_naive(qb.to(DType::f32), kb.to(DType::f32), vb.to(DType::f32), in.g,
                                                  lb.to(DType::f32));
  CHECK(rel_err(ob, ref_b) < 1e-2);

  // Gradients of bf16 inputs come back in bf16, close to the f32 ones.
  Tensor qg = qb.clone().detach();
  qg.set_requires_grad(true);
  sum(log_linear_attention(qg, kb, vb, in.g, lb).to(DType::f32)).backward();
  REQUIRE(qg.grad().defined());
  CHECK(qg.grad().dtype() == DType::bf16);
  Tensor qf = qb.to(DType::f32).detach();
  qf.set_requires_grad(true);
  sum(log_linear_attention(qf, kb.to(DType::f32), vb.to(DType::f32), in.g, lb.to(DType::f32))).backward();
  CHECK(rel_err(qg.grad(), qf.grad()) < 1e-2);
}

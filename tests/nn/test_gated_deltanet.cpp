// The Gated DeltaNet mixers (nn/mixers/gated_deltanet.h): float64
// gradchecks, decoding against the parallel forward (layer and language
// model, token by token and after a prompt), and a tiny language model of
// each arch that learns a fixed batch.
#include <cmath>

#include "autograd/grad_mode.h"
#include "catch.h"
#include "core/rng.h"
#include "nn/mixers/gated_deltanet.h"
#include "nn/models/language_model.h"
#include "nn_test_util.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {

const char* const kArchs[] = {"gated_deltanet", "loglinear_gated_deltanet"};

std::shared_ptr<GatedDeltaNetMixer> make(bool log_linear, const GatedDeltaNetOptions& o) {
  if (log_linear) return std::make_shared<LogLinearGatedDeltaNet>(o);
  return std::make_shared<GatedDeltaNet>(o);
}

LMOptions tiny(const std::string& arch) {
  return LMOptions(arch, 11)
      .d_model(8)
      .n_layers(2)
      .n_heads(2)
      .head_dim(4)
      .expand_v(2)
      .chunk_size(4)
      .max_seq_len(32)
      .init_std(0.2);
}

}  // namespace

TEST_CASE("GatedDeltaNet and LogLinearGatedDeltaNet gradcheck", "[nn][gradcheck][gated_deltanet]") {
  for (bool log_linear : {false, true}) {
    manual_seed(0);
    // T = 9 crosses two chunks of 4 and four levels; V = 2K != K.
    auto o = GatedDeltaNetOptions(4).n_heads(2).head_dim(3).chunk_size(4).max_seq_len(16)
                 .init_std(0.3).out_init_std(0.3);
    auto m = make(log_linear, o);
    INFO(m->type_name());
    Tensor x = randn({1, 9, 4}, DType::f64).set_requires_grad(true);
    GradcheckResult r = test::gradcheck_module(*m, x, [&](const Tensor& in) { return m->forward(in); });
    INFO(r.message);
    CHECK(r.passed);
  }
}

TEST_CASE("GatedDeltaNet layers: parameters and shapes", "[nn][gated_deltanet]") {
  manual_seed(0);
  auto o = GatedDeltaNetOptions(16).n_heads(2).head_dim(4).expand_v(3).max_seq_len(100);
  GatedDeltaNet plain(o);
  LogLinearGatedDeltaNet ll(o);
  CHECK(plain.value_dim() == 12);
  CHECK(plain.n_levels() == 1);
  CHECK(ll.n_levels() == 8);  // bit_length(99) + 1
  // in_proj: q, k (2 * 4 each), v and the gate (2 * 12 each), a and b (2 each), dl (2 * 8).
  CHECK(plain.in_proj->weight.shape() == (Shape{2 * 8 + 2 * 24 + 4, 16}));
  CHECK(ll.in_proj->weight.shape() == (Shape{2 * 8 + 2 * 24 + 4 + 16, 16}));
  CHECK(ll.Lambda.shape() == (Shape{2, 8}));
  CHECK_FALSE(plain.Lambda.defined());
  CHECK(plain.norm->weight.shape() == (Shape{12}));
  CHECK(plain.out_proj->weight.shape() == (Shape{16, 24}));
  for (float a : plain.A_log.to_vector<float>()) CHECK((a >= 0.0f && a <= std::log(16.0f)));
  Tensor x = randn({2, 5, 16});
  CHECK(plain.forward(x).shape() == (Shape{2, 5, 16}));
  CHECK(ll.forward(x).shape() == (Shape{2, 5, 16}));
  CHECK_THROWS_AS(plain.forward(randn({2, 5, 15})), loglin::Error);
}

TEST_CASE("GatedDeltaNet mixer decoding equals its forward", "[nn][decoding][gated_deltanet]") {
  for (bool log_linear : {false, true}) {
    manual_seed(1);
    auto o = GatedDeltaNetOptions(6).n_heads(2).head_dim(3).chunk_size(4).max_seq_len(32)
                 .init_std(0.4).out_init_std(0.4);
    auto m = make(log_linear, o);
    INFO(m->type_name());
    m->to(DType::f64);
    const int64_t B = 2, T = 21;  // crosses five chunks and levels 0..5
    Tensor x = randn({B, T, 6}, DType::f64);
    Tensor full = m->forward(x);
    auto st = m->initial_state(B);
    double worst = 0;
    for (int64_t t = 0; t < T; ++t)
      worst = std::max(worst, test::rel_err(m->step(x.narrow(1, t, 1), *st), full.narrow(1, t, 1)));
    INFO("token by token " << worst);
    CHECK(worst < 1e-10);
    // A prompt of 6 (across a chunk boundary), a second of 9 that continues
    // from the state (conv window and levels), then tokens.
    auto st2 = m->initial_state(B);
    double worst2 = test::rel_err(m->step(x.narrow(1, 0, 6), *st2), full.narrow(1, 0, 6));
    worst2 = std::max(worst2, test::rel_err(m->step(x.narrow(1, 6, 9), *st2), full.narrow(1, 6, 9)));
    for (int64_t t = 15; t < T; ++t)
      worst2 = std::max(worst2, test::rel_err(m->step(x.narrow(1, t, 1), *st2), full.narrow(1, t, 1)));
    INFO("prompts then tokens " << worst2);
    CHECK(worst2 < 1e-10);
  }
}

TEST_CASE("Gated DeltaNet language models decode as they forward", "[nn][decoding][gated_deltanet]") {
  for (const char* arch : kArchs) {
    INFO(arch);
    manual_seed(3);
    LanguageModel model(tiny(arch));
    model.to(DType::f64);
    model.eval();
    const int64_t B = 2, T = 19;
    Tensor ids = randint(0, 11, {B, T});
    Tensor full = model.forward(ids);  // [B, T, vocab]
    LMState st = model.initial_state(B);
    double worst = 0;
    for (int64_t t = 0; t < T; ++t)
      worst = std::max(worst, test::rel_err(model.step(ids.narrow(1, t, 1), st), full.select(1, t)));
    INFO("token by token " << worst);
    CHECK(worst < 1e-10);

    LMState st2 = model.initial_state(B);
    double worst2 = test::rel_err(model.step(ids.narrow(1, 0, 7), st2), full.select(1, 6));
    for (int64_t t = 7; t < T; ++t)
      worst2 = std::max(worst2, test::rel_err(model.step(ids.narrow(1, t, 1), st2), full.select(1, t)));
    INFO("prompt then tokens " << worst2);
    CHECK(worst2 < 1e-10);
  }
}

TEST_CASE("Gated DeltaNet language models learn a fixed batch", "[nn][gated_deltanet]") {
  for (const char* arch : kArchs) {
    INFO(arch);
    manual_seed(5);
    LanguageModel model(LMOptions(arch, 16)
                            .d_model(16)
                            .n_layers(2)
                            .n_heads(2)
                            .head_dim(8)
                            .chunk_size(8)
                            .max_seq_len(32)
                            .mlp(false));
    Tensor ids = randint(0, 16, {4, 25});
    Tensor inputs = ids.narrow(1, 0, 24), targets = ids.narrow(1, 1, 24);
    // A bare Adam (lr 1e-2, no bias correction) keeps this test inside nn/.
    std::vector<Tensor> params = model.parameters(), m1, m2;
    for (const Tensor& p : params) {
      m1.push_back(Tensor::zeros(p.shape(), p.dtype()));
      m2.push_back(Tensor::zeros(p.shape(), p.dtype()));
    }
    std::vector<double> losses;
    for (int step = 0; step < 10; ++step) {
      Tensor loss = cross_entropy(model.forward(inputs).reshape({-1, 16}), targets.reshape({-1}));
      losses.push_back(loss.item());
      model.zero_grad();
      loss.backward();
      NoGradGuard no_grad;
      for (size_t i = 0; i < params.size(); ++i) {
        const Tensor g = params[i].grad();
        m1[i] = m1[i] * 0.9 + g * 0.1;
        m2[i] = m2[i] * 0.99 + g * g * 0.01;
        core::copy_into(params[i], params[i] - m1[i] / (sqrt(m2[i]) + 1e-8) * 1e-2);
      }
    }
    INFO("losses " << losses.front() << " -> " << losses.back());
    for (size_t i = 0; i < losses.size(); ++i) {
      REQUIRE(std::isfinite(losses[i]));
      if (i > 0) CHECK(losses[i] < losses[i - 1]);
    }
  }
}

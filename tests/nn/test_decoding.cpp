// Recurrent / cached decoding equals the parallel forward, for every mixer
// and for the whole language model.
#include "catch.h"
#include "core/rng.h"
#include "nn/layers/conv1d.h"
#include "nn/models/generate.h"
#include "nn/models/language_model.h"
#include "nn_test_util.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {
LMOptions tiny(const std::string& arch) {
  return LMOptions(arch, 11)
      .d_model(8)
      .n_layers(2)
      .n_heads(2)
      .head_dim(4)
      .d_state(4)
      .chunk_size(4)
      .max_seq_len(32)
      .init_std(0.2);
}
}  // namespace

TEST_CASE("decoding one token at a time equals the parallel forward", "[nn][decoding]") {
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2"}) {
    INFO(arch);
    manual_seed(3);
    LanguageModel model(tiny(arch));
    model.to(DType::f64);
    model.eval();
    const int64_t B = 2, T = 19;  // crosses several chunks and levels
    Tensor ids = randint(0, 11, {B, T});
    Tensor full = model.forward(ids);  // [B, T, V]
    LMState st = model.initial_state(B);
    double worst = 0;
    for (int64_t t = 0; t < T; ++t) {
      Tensor logits = model.step(ids.narrow(1, t, 1), st);  // [B, V]
      worst = std::max(worst, test::rel_err(logits, full.select(1, t)));
    }
    CHECK(worst < 1e-10);
  }
}

TEST_CASE("a prompt prefill then decoding equals the parallel forward", "[nn][decoding]") {
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2"}) {
    INFO(arch);
    manual_seed(4);
    LanguageModel model(tiny(arch));
    model.to(DType::f64);
    Tensor ids = randint(0, 11, {1, 12});
    Tensor full = model.forward(ids);
    LMState st = model.initial_state(1);
    Tensor after_prompt = model.step(ids.narrow(1, 0, 7), st);
    CHECK(test::rel_err(after_prompt, full.select(1, 6)) < 1e-10);
    for (int64_t t = 7; t < 12; ++t)
      CHECK(test::rel_err(model.step(ids.narrow(1, t, 1), st), full.select(1, t)) < 1e-10);
  }
}

TEST_CASE("CausalConv1d step equals its forward token by token, with and without silu", "[nn][decoding]") {
  for (ConvActivation act : {ConvActivation::none, ConvActivation::silu})
    for (int64_t W : {int64_t{1}, int64_t{4}}) {
      INFO((act == ConvActivation::silu ? "silu" : "none") << " W " << W);
      manual_seed(7);
      CausalConv1d conv(CausalConv1dOptions(5, W).activation(act));
      conv.to(DType::f64);
      const int64_t B = 2, T = 9;
      Tensor x = randn({B, T, 5}, DType::f64);
      Tensor full = conv.forward(x);
      Tensor st = conv.initial_state(B);
      double worst = 0;
      for (int64_t t = 0; t < T; ++t)
        worst = std::max(worst, test::rel_err(conv.step(x.select(1, t), st), full.select(1, t)));
      CHECK(worst < 1e-12);
    }
}

TEST_CASE("the forward is causal", "[nn][decoding]") {
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2"}) {
    INFO(arch);
    manual_seed(5);
    LanguageModel model(tiny(arch));
    Tensor ids = randint(0, 11, {1, 16});
    std::vector<int64_t> changed = ids.to_vector<int64_t>();
    changed[9] = (changed[9] + 1) % 11;
    Tensor a = model.forward(ids), b = model.forward(Tensor::from_vector(changed, {1, 16}));
    CHECK(test::rel_err(a.narrow(1, 0, 9), b.narrow(1, 0, 9)) == 0.0);
    CHECK(test::rel_err(a.narrow(1, 9, 7), b.narrow(1, 9, 7)) > 0.0);
  }
}

TEST_CASE("generate samples within the vocabulary, reproducibly", "[nn][decoding]") {
  manual_seed(6);
  LanguageModel model(tiny("loglinear_mamba2"));
  Generator g1(9), g2(9);
  auto a = generate(model, {1, 2, 3}, 10, {}, g1);
  auto b = generate(model, {1, 2, 3}, 10, {}, g2);
  CHECK(a == b);
  REQUIRE(a.size() == 10);
  for (int32_t id : a) CHECK((id >= 0 && id < 11));
  CHECK_THROWS_AS(generate(model, {}, 3, {}, g1), loglin::Error);
  CHECK_THROWS_AS(generate(model, {1}, 40, {}, g1), loglin::Error);
}

// A whole language model on CUDA against the same model on the CPU, for each
// architecture: the loss and every parameter's gradient in f32 (tight) and
// under bf16 autocast (loose), and decoding on the GPU.
#include "catch.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "nn_test_util.h"
#include "ops/autocast.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {

LMOptions small(const std::string& arch) {
  return LMOptions(arch, 97)
      .d_model(64)
      .n_layers(2)
      .n_heads(4)
      .head_dim(16)
      .d_state(16)
      .chunk_size(16)
      .max_seq_len(128)
      .init_std(0.05);
}

struct LossAndGrads {
  double loss;
  std::map<std::string, Tensor> grads;  // on the cpu
};

LossAndGrads loss_and_grads(LanguageModel& model, const Tensor& ids, const Tensor& targets) {
  model.zero_grad();
  Tensor loss = cross_entropy(model.forward(ids), targets.to(model.device()), -100);
  loss.backward();
  LossAndGrads r{loss.item(), {}};
  for (auto& [name, p] : model.named_parameters()) r.grads[name] = p.grad().to(Device::cpu());
  return r;
}

double worst_grad_err(const LossAndGrads& a, const LossAndGrads& b, std::string& where) {
  double worst = 0;
  for (const auto& [name, g] : b.grads) {
    double e = test::rel_err(a.grads.at(name), g);
    if (e > worst) {
      worst = e;
      where = name;
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("cuda: each architecture's loss and gradients match the cpu", "[cuda][nn]") {
  LOGLIN_REQUIRE_CUDA();
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2"}) {
    INFO(arch);
    Generator gen(11);
    LanguageModel model(small(arch), gen);
    Generator data_gen(5);
    const int64_t B = 3, T = 100;  // T crosses chunks and is not a multiple of one
    Tensor ids = randint(0, 97, {B, T}, DType::i64, data_gen);
    Tensor targets = randint(0, 97, {B, T}, DType::i64, data_gen);
    LossAndGrads cpu = loss_and_grads(model, ids, targets);

    model.to(Device::cuda());
    LossAndGrads gpu = loss_and_grads(model, ids, targets);
    std::string where;
    CHECK(std::abs(gpu.loss - cpu.loss) / cpu.loss < 1e-5);
    double err = worst_grad_err(gpu, cpu, where);
    INFO("worst gradient: " << where << " rel err " << err);
    CHECK(err < 1e-4);

    // bf16 autocast: matmuls and mixers in bf16, everything else in f32.
    LossAndGrads mixed;
    {
      AutocastGuard guard(DType::bf16);
      mixed = loss_and_grads(model, ids, targets);
    }
    CHECK(std::abs(mixed.loss - cpu.loss) / cpu.loss < 2e-2);
    err = worst_grad_err(mixed, cpu, where);
    INFO("worst bf16 gradient: " << where << " rel err " << err);
    CHECK(err < 0.1);
  }
}

TEST_CASE("cuda: decoding on the gpu equals the parallel forward", "[cuda][nn]") {
  LOGLIN_REQUIRE_CUDA();
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2"}) {
    INFO(arch);
    Generator gen(3);
    LanguageModel model(small(arch), gen);
    model.to(Device::cuda());
    model.eval();
    Generator data_gen(9);
    const int64_t B = 2, T = 37;
    Tensor ids = randint(0, 97, {B, T}, DType::i64, data_gen);
    Tensor full = model.forward(ids).to(Device::cpu());
    LMState st = model.initial_state(B);
    Tensor prefill = model.step(ids.narrow(1, 0, 20), st).to(Device::cpu());
    double worst = test::rel_err(prefill, full.select(1, 19));
    for (int64_t t = 20; t < T; ++t) {
      Tensor logits = model.step(ids.narrow(1, t, 1), st).to(Device::cpu());
      worst = std::max(worst, test::rel_err(logits, full.select(1, t)));
    }
    CHECK(worst < 1e-4);
  }
}

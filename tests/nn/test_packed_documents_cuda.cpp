// Packed documents on CUDA against the CPU, for each architecture: the loss
// and every parameter's gradient of a packed batch in f32. On CUDA the conv
// runs causal_conv1d_reference and attention one call per document, so this
// pins those routes to the CPU's fused loops. (Skipped without a GPU; not
// yet run on one.)
#include <map>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "nn_test_util.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {

struct LossAndGrads {
  double loss;
  std::map<std::string, Tensor> grads;  // on the cpu
};

LossAndGrads packed_loss_and_grads(LanguageModel& model, const Tensor& ids, const Tensor& targets, const Tensor& cu) {
  model.zero_grad();
  Tensor loss = cross_entropy(model.forward(ids, cu), targets.to(model.device()));
  loss.backward();
  LossAndGrads r{loss.item(), {}};
  for (auto& [name, p] : model.named_parameters()) r.grads[name] = p.grad().to(Device::cpu());
  return r;
}

}  // namespace

TEST_CASE("cuda: packed documents give the cpu's loss and gradients", "[cuda][nn][packed]") {
  LOGLIN_REQUIRE_CUDA();
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet", "loglinear_gated_deltanet"}) {
    INFO(arch);
    Generator gen(12);
    LanguageModel model(LMOptions(arch, 97)
                            .d_model(64)
                            .n_layers(2)
                            .n_heads(4)
                            .head_dim(16)
                            .d_state(16)
                            .chunk_size(16)
                            .max_seq_len(128)
                            .init_std(0.05),
                        gen);
    Generator data_gen(6);
    const int64_t B = 2, T = 100;
    const Tensor ids = randint(0, 97, {B, T}, DType::i64, data_gen);
    const Tensor targets = randint(0, 97, {B, T}, DType::i64, data_gen);
    // Documents of 37, 1 and 62 tokens, then 17 and 83: starts mid-chunk, a one-token document.
    const Tensor cu = Tensor::from_vector(std::vector<int64_t>{0, 37, 38, 100, 117, 200}, {6});
    LossAndGrads cpu = packed_loss_and_grads(model, ids, targets, cu);
    model.to(Device::cuda());
    LossAndGrads gpu = packed_loss_and_grads(model, ids, targets, cu);
    CHECK(std::abs(gpu.loss - cpu.loss) / cpu.loss < 1e-5);
    double worst = 0;
    std::string where;
    for (const auto& [name, g] : cpu.grads) {
      const double e = test::rel_err(gpu.grads.at(name), g);
      if (!(e <= worst)) worst = e, where = name;
    }
    INFO("worst gradient: " << where << " rel err " << worst);
    CHECK(worst < 1e-4);
  }
}

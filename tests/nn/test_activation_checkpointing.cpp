// LMOptions::activation_checkpointing: for every architecture, the loss and
// every parameter's gradient equal the plain run's bit for bit on the CPU
// (dropout on, two micro-batches accumulated), and the forward holds far
// less memory until backward.
#include <cstring>
#include <map>
#include <string>

#include "catch.h"
#include "core/allocator.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {

const char* const kArchs[] = {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet",
                              "loglinear_gated_deltanet"};

LMOptions small(const std::string& arch, bool checkpointing) {
  return LMOptions(arch, 61)
      .d_model(32)
      .n_layers(3)
      .n_heads(2)
      .head_dim(16)
      .d_state(8)
      .chunk_size(8)
      .max_seq_len(64)
      .dropout(0.1)
      .init_std(0.1)
      .activation_checkpointing(checkpointing);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  if (a.dtype() != DType::f32 || b.dtype() != DType::f32 || a.shape() != b.shape()) return false;
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

struct Run {
  std::vector<float> losses;  // one per micro-batch
  std::map<std::string, Tensor> grads;
};

// Two micro-batches into the same .grad, as training.grad_accum: 2 does.
Run train_micro_batches(const std::string& arch, bool checkpointing) {
  Generator model_gen(21);  // the weights, then the dropout masks
  LanguageModel model(small(arch, checkpointing), model_gen);
  model.train();
  Generator data_gen(5);
  Run r;
  for (int micro = 0; micro < 2; ++micro) {
    const int64_t B = 2, T = 37;  // T is not a multiple of the chunk
    Tensor ids = randint(0, 61, {B, T}, DType::i64, data_gen);
    Tensor targets = randint(0, 61, {B, T}, DType::i64, data_gen);
    Tensor loss = cross_entropy(model.forward(ids), targets, -100);
    r.losses.push_back(static_cast<float>(loss.item()));
    mul(loss, 0.5).backward();
  }
  for (auto& [name, p] : model.named_parameters()) r.grads[name] = p.grad();
  return r;
}

}  // namespace

TEST_CASE("activation checkpointing: loss and every gradient bit-identical, each architecture",
          "[nn][checkpoint]") {
  for (const char* arch : kArchs) {
    INFO(arch);
    const Run plain = train_micro_batches(arch, false);
    const Run ck = train_micro_batches(arch, true);
    REQUIRE(ck.losses.size() == plain.losses.size());
    for (size_t i = 0; i < plain.losses.size(); ++i)
      CHECK(std::memcmp(&ck.losses[i], &plain.losses[i], sizeof(float)) == 0);
    REQUIRE(ck.grads.size() == plain.grads.size());
    for (const auto& [name, g] : plain.grads) {
      INFO(name);
      REQUIRE(g.defined());
      CHECK(same_bits(ck.grads.at(name), g));
    }
  }
}

TEST_CASE("activation checkpointing: the forward keeps only the blocks' inputs", "[nn][checkpoint]") {
  // Bytes the graph holds between forward and backward, beyond the weights.
  auto held_after_forward = [](bool checkpointing) {
    Generator gen(3);
    LanguageModel model(small("loglinear_mamba2", checkpointing).n_layers(4).dropout(0), gen);
    Generator data_gen(1);
    Tensor ids = randint(0, 61, {2, 64}, DType::i64, data_gen);
    Tensor targets = randint(0, 61, {2, 64}, DType::i64, data_gen);
    const int64_t before = cpu_memory_stats().bytes_in_use;
    Tensor loss = cross_entropy(model.forward(ids), targets, -100);
    const int64_t held = cpu_memory_stats().bytes_in_use - before;
    loss.backward();  // and the checkpointed graph still backpropagates
    for (const auto& p : model.parameters()) CHECK(p.grad().defined());
    return held;
  };
  const int64_t plain = held_after_forward(false), ck = held_after_forward(true);
  INFO("plain holds " << plain << " bytes, checkpointed " << ck);
  CHECK(ck * 4 < plain);
}

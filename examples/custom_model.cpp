// A model of your own with the nn API: a two-layer hybrid whose first block
// mixes with softmax attention and whose second uses log-linear Mamba-2.
// It trains a few hundred AdamW steps on synthetic associative recall (MQAR)
// and then decodes greedily, token by token, through the layers' caches and
// recurrent states.
#include <loglin/loglin.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "nn/layers/embedding.h"
#include "nn/layers/norm.h"
#include "nn/mixers/attention.h"
#include "nn/mixers/mamba2.h"
#include "nn/module_list.h"
#include "train/data/mqar.h"
#include "train/optim/optimizer.h"
#include "train/optim/schedule.h"

using namespace loglin;

struct Hybrid : nn::Module {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::ModuleList<nn::Mixer>> mixers;
  std::shared_ptr<nn::ModuleList<nn::RMSNorm>> norms;
  std::shared_ptr<nn::RMSNorm> final_norm;

  Hybrid(int64_t vocab, int64_t d, int64_t max_len) {
    embed = register_module("embed", std::make_shared<nn::Embedding>(nn::EmbeddingOptions(vocab, d)));
    mixers = register_module("mixers", std::make_shared<nn::ModuleList<nn::Mixer>>());
    norms = register_module("norms", std::make_shared<nn::ModuleList<nn::RMSNorm>>());
    mixers->push_back(std::make_shared<nn::CausalSelfAttention>(nn::AttentionOptions(d, 4).max_seq_len(max_len)));
    mixers->push_back(std::make_shared<nn::LogLinearMamba2>(
        nn::Mamba2Options(d).head_dim(16).d_state(16).chunk_size(16).max_seq_len(max_len)));
    for (int i = 0; i < 2; ++i) norms->push_back(std::make_shared<nn::RMSNorm>(nn::NormOptions(d)));
    final_norm = register_module("final_norm", std::make_shared<nn::RMSNorm>(nn::NormOptions(d)));
  }

  // ids [B, T] -> logits [B, T, vocab] (the head shares the embedding)
  Tensor forward(const Tensor& ids) const {
    Tensor h = embed->forward(ids);
    for (size_t i = 0; i < mixers->size(); ++i) h = h + (*mixers)[i]->forward((*norms)[i]->forward(h));
    return matmul(final_norm->forward(h), embed->weight.transpose(0, 1));
  }

  // Decoding: ids [B, 1] continue the sequences held in `states`.
  Tensor step(const Tensor& ids, std::vector<std::unique_ptr<nn::MixerState>>& states) const {
    Tensor h = embed->forward(ids);
    for (size_t i = 0; i < mixers->size(); ++i) h = h + (*mixers)[i]->step((*norms)[i]->forward(h), *states[i]);
    return matmul(final_norm->forward(h), embed->weight.transpose(0, 1));
  }
};

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 300;
  manual_seed(0);
  MqarOptions data_opts;
  data_opts.num_pairs = 4;
  data_opts.vocab_size = 32;
  data_opts.seq_len = 32;
  data_opts.batch_size = 32;
  data_opts.train_examples = 4000;
  data_opts.val_examples = 256;
  MqarDataset data(data_opts);

  Hybrid model(data_opts.vocab_size, 64, data_opts.seq_len);
  std::printf("%s", model.summary().c_str());
  optim::AdamW opt(optim::decay_groups(model.named_parameters(), 0.1, false));
  optim::Schedule sched{"cosine", 3e-3, 30, steps, 0.1, 0.2};
  Generator gen(1);
  for (int64_t s = 0; s < steps; ++s) {
    Batch b = data.next_train_batch(gen);
    Tensor loss = cross_entropy(model.forward(b.inputs), b.targets);
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    opt.step(sched.lr_at(s));
    opt.zero_grad();
    if ((s + 1) % 50 == 0) std::printf("step %lld  loss %.4f\n", static_cast<long long>(s + 1), loss.item());
  }

  NoGradGuard no_grad;
  Accuracy acc;
  for (int64_t i = 0; i < data.num_val_batches(); ++i) {
    Batch b = data.val_batch(i);
    acc += MqarDataset::accuracy(model.forward(b.inputs), b.targets);
  }
  std::printf("validation accuracy %.1f%% (chance %.1f%%)\n", 100 * acc.value(), 100.0 / (data_opts.vocab_size / 2));

  // Greedy decoding of one validation example, one token at a time.
  Batch b = data.val_batch(0);
  std::vector<int64_t> ids = b.inputs.select(0, 0).to_vector<int64_t>();
  std::vector<std::unique_ptr<nn::MixerState>> states;
  for (const auto& m : *model.mixers) states.push_back(m->initial_state(1));
  std::printf("prompt and greedy next tokens:\n");
  for (size_t t = 0; t < ids.size(); ++t) {
    Tensor logits = model.step(Tensor::from_vector(std::vector<int64_t>{ids[t]}, {1, 1}), states);
    std::vector<float> row = logits.reshape({-1}).to_vector<float>();
    int64_t best = std::max_element(row.begin(), row.end()) - row.begin();
    std::printf("%lld->%lld ", static_cast<long long>(ids[t]), static_cast<long long>(best));
  }
  std::printf("\n");
  return acc.value() > 2.0 / (data_opts.vocab_size / 2) ? 0 : 1;
}

#include "nn/models/language_model.h"

#include <cmath>

#include "autograd/checkpoint.h"
#include "autograd/grad_mode.h"
#include "nn/mixers/attention.h"
#include "nn/mixers/gated_deltanet.h"
#include "nn/mixers/mamba2.h"
#include "ops/ops.h"

namespace loglin::nn {
namespace {

std::shared_ptr<Mixer> make_mixer(const LMOptions& o, double out_std, Generator& gen) {
  if (o.arch() == "transformer")
    return std::make_shared<CausalSelfAttention>(AttentionOptions(o.d_model(), o.n_heads())
                                                     .max_seq_len(o.max_seq_len())
                                                     .init_std(o.init_std())
                                                     .out_init_std(out_std),
                                                 gen);
  if (o.arch() == "gated_deltanet" || o.arch() == "loglinear_gated_deltanet") {
    auto go = GatedDeltaNetOptions(o.d_model())
                  .n_heads(o.n_heads())
                  .head_dim(o.head_dim())
                  .expand_v(o.expand_v())
                  .conv_kernel(o.conv_kernel())
                  .chunk_size(o.chunk_size())
                  .max_seq_len(o.max_seq_len())
                  .norm_eps(o.norm_eps())
                  .init_std(o.init_std())
                  .out_init_std(out_std);
    if (o.arch() == "gated_deltanet") return std::make_shared<GatedDeltaNet>(go, gen);
    return std::make_shared<LogLinearGatedDeltaNet>(go, gen);
  }
  auto mo = Mamba2Options(o.d_model())
                .expand(o.expand())
                .head_dim(o.head_dim())
                .d_state(o.d_state())
                .n_groups(o.n_groups())
                .conv_kernel(o.conv_kernel())
                .chunk_size(o.chunk_size())
                .max_seq_len(o.max_seq_len())
                .norm_eps(o.norm_eps())
                .init_std(o.init_std())
                .out_init_std(out_std);
  if (o.arch() == "mamba2") return std::make_shared<Mamba2>(mo, gen);
  if (o.arch() == "loglinear_mamba2") return std::make_shared<LogLinearMamba2>(mo, gen);
  LOGLIN_FAIL(
      "[LanguageModel] unknown arch '{}' (expected transformer, mamba2, loglinear_mamba2, gated_deltanet or "
      "loglinear_gated_deltanet)",
      o.arch());
}

}  // namespace

int64_t default_mlp_hidden(int64_t d_model) { return (8 * d_model / 3 + 63) / 64 * 64; }

Block::Block(const LMOptions& o, int64_t layer, Generator& gen) {
  // GPT-2's scaled init: projections that write into the residual stream get
  // std / sqrt(2 * n_layers), so the stream's variance does not grow with depth.
  const double out_std = o.init_std() / std::sqrt(2.0 * static_cast<double>(o.n_layers()));
  (void)layer;
  mixer_norm = register_module("mixer_norm", std::make_shared<RMSNorm>(NormOptions(o.d_model()).eps(o.norm_eps())));
  mixer = register_module("mixer", make_mixer(o, out_std, gen));
  if (o.mlp()) {
    int64_t hidden = o.mlp_hidden() > 0 ? o.mlp_hidden() : default_mlp_hidden(o.d_model());
    mlp_norm = register_module("mlp_norm", std::make_shared<RMSNorm>(NormOptions(o.d_model()).eps(o.norm_eps())));
    mlp = register_module("mlp", std::make_shared<SwiGLU>(
                                     SwiGLUOptions(o.d_model(), hidden).init_std(o.init_std()).out_init_std(out_std), gen));
  }
  if (o.dropout() > 0) drop = register_module("dropout", std::make_shared<Dropout>(o.dropout(), gen));
}

Tensor Block::forward(const Tensor& x, const Tensor& cu_seqlens) const {
  auto dropped = [&](const Tensor& t) { return drop ? drop->forward(t) : t; };
  const Tensor n = mixer_norm->forward(x);
  Tensor h = x + dropped(cu_seqlens.defined() ? mixer->forward_packed(n, cu_seqlens) : mixer->forward(n));
  if (mlp) h = h + dropped(mlp->forward(mlp_norm->forward(h)));
  return h;
}

Tensor Block::checkpointed_forward(const Tensor& x, const Tensor& cu_seqlens) const {
  autograd::CheckpointOptions o;
  o.params = parameters();
  if (drop) o.generators.push_back(&drop->generator());  // the recompute draws the same masks
  o.default_generator = false;  // a block draws from nothing else; ranks as threads may share it
  // cu_seqlens is an integer tensor without a gradient: captured, not an input.
  return autograd::checkpoint([this, cu_seqlens](const Tensor& in) { return forward(in, cu_seqlens); }, x, o);
}

Tensor Block::step(const Tensor& x, MixerState& state) const {
  Tensor h = x + mixer->step(mixer_norm->forward(x), state);
  if (mlp) h = h + mlp->forward(mlp_norm->forward(h));
  return h;
}

LanguageModel::LanguageModel(const LMOptions& o, Generator& gen) : options(o) {
  LOGLIN_CHECK(o.vocab_size() > 0, "[LanguageModel] vocab_size must be positive, got {}", o.vocab_size());
  LOGLIN_CHECK(o.n_layers() > 0, "[LanguageModel] n_layers must be positive, got {}", o.n_layers());
  embed = register_module("embed", std::make_shared<Embedding>(
                                       EmbeddingOptions(o.vocab_size(), o.d_model()).init_std(o.init_std()), gen));
  blocks = register_module("blocks", std::make_shared<ModuleList<Block>>());
  for (int64_t i = 0; i < o.n_layers(); ++i) blocks->push_back(std::make_shared<Block>(o, i, gen));
  final_norm = register_module("final_norm", std::make_shared<RMSNorm>(NormOptions(o.d_model()).eps(o.norm_eps())));
  if (!o.tie_embeddings())
    lm_head = register_module("lm_head", std::make_shared<Linear>(
                                             LinearOptions(o.d_model(), o.vocab_size()).bias(false).init_std(o.init_std()), gen));
}

Tensor LanguageModel::head(const Tensor& h) const {
  Tensor n = final_norm->forward(h);
  return lm_head ? lm_head->forward(n) : matmul(n, embed->weight.transpose(0, 1));
}

Tensor LanguageModel::forward(const Tensor& ids, const Tensor& cu_seqlens) const {
  LOGLIN_CHECK(ids.dim() == 2, "[LanguageModel] ids must be [B, T], got {}", shape_str(ids.shape()));
  LOGLIN_CHECK(ids.size(1) <= options.max_seq_len(), "[LanguageModel] sequence of {} tokens exceeds max_seq_len {}",
               ids.size(1), options.max_seq_len());
  if (cu_seqlens.defined())
    for (const auto& b : *blocks)
      LOGLIN_CHECK(b->mixer->resets_at_documents(),
                   "[LanguageModel] packed documents (cu_seqlens) need mixers that reset at document starts, but {} "
                   "does not",
                   b->mixer->type_name());
  Tensor h = embed->forward(ids.to(device()));
  for (const auto& b : *blocks)
    h = options.activation_checkpointing() ? b->checkpointed_forward(h, cu_seqlens) : b->forward(h, cu_seqlens);
  return head(h);
}

bool LanguageModel::resets_at_documents() const {
  for (const auto& b : *blocks)
    if (!b->mixer->resets_at_documents()) return false;
  return true;
}

Device LanguageModel::device() const { return embed->weight.device(); }

LMState LanguageModel::initial_state(int64_t batch) const {
  LMState st;
  for (const auto& b : *blocks) st.layers.push_back(b->mixer->initial_state(batch));
  return st;
}

Tensor LanguageModel::step(const Tensor& ids, LMState& state) const {
  LOGLIN_CHECK(ids.dim() == 2, "[LanguageModel] step ids must be [B, T], got {}", shape_str(ids.shape()));
  LOGLIN_CHECK(state.layers.size() == blocks->size(), "[LanguageModel] state has {} layers, model {}",
               state.layers.size(), blocks->size());
  LOGLIN_CHECK(state.pos + ids.size(1) <= options.max_seq_len(),
               "[LanguageModel] decoding past max_seq_len {} (position {})", options.max_seq_len(),
               state.pos + ids.size(1) - 1);
  NoGradGuard no_grad;
  Tensor h = embed->forward(ids.to(device()));
  for (size_t i = 0; i < blocks->size(); ++i) h = (*blocks)[i]->step(h, *state.layers[i]);
  state.pos += ids.size(1);
  return head(h.select(1, -1));
}

}  // namespace loglin::nn

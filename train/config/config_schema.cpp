// The table of every config key. Add a key here and in config.h; parsing,
// validation, to_yaml and the README table pick it up.
#include "train/config/config_schema.h"

#include <algorithm>

namespace loglin::config_detail {
namespace {

std::vector<KeySpec> build_schema() {
  std::vector<KeySpec> k;
  // model
  k.push_back(LOGLIN_CONFIG_KEY(model.arch, "sequence mixer of every block")
                  .one_of(
                      {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet", "loglinear_gated_deltanet"})
                  .needed());
  k.push_back(LOGLIN_CONFIG_KEY(model.d_model, "width of the residual stream").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.n_layers, "number of blocks").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.n_heads, "attention heads (transformer; must divide d_model); Gated DeltaNet heads")
                  .min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.head_dim,
                                "Mamba-2 head dim P (must divide d_model * expand); Gated DeltaNet q/k head dim K")
                  .min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.d_state, "Mamba-2 state size N").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.expand, "Mamba-2 inner width = expand * d_model").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.expand_v, "Gated DeltaNet value head dim V = expand_v * head_dim").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.n_groups, "Mamba-2 B/C groups; must divide the head count").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.conv_kernel, "width of the causal depthwise convolution").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.chunk_size, "chunk length of the chunked scan kernels").min(1).pow2());
  k.push_back(LOGLIN_CONFIG_KEY(model.max_seq_len, "longest sequence; sets the log-linear level count").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.mlp, "add a gated MLP after each mixer"));
  k.push_back(LOGLIN_CONFIG_KEY(model.mlp_hidden, "MLP hidden width; 0 = 8/3 d_model rounded up to 64").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(model.tie_embeddings, "share the embedding with the output layer"));
  k.push_back(LOGLIN_CONFIG_KEY(model.dropout, "dropout probability").min(0).below(1));
  k.push_back(LOGLIN_CONFIG_KEY(model.norm_eps, "epsilon of the RMS norms").above(0));
  k.push_back(LOGLIN_CONFIG_KEY(model.init_std, "std of the normal weight init").above(0));
  k.push_back(LOGLIN_CONFIG_KEY(model.vocab_size, "0 = from the tokenizer or dataset").min(0));
  // data
  k.push_back(LOGLIN_CONFIG_KEY(data.dataset, "brown corpus, your text files (data.path), or synthetic MQAR")
                  .one_of({"brown", "text", "mqar"}));
  k.push_back(LOGLIN_CONFIG_KEY(data.path, "text: a file or a directory of files"));
  k.push_back(LOGLIN_CONFIG_KEY(data.tokenizer, "byte: 256 ids; bpe: a file from `loglin tokenizer train`")
                  .one_of({"byte", "bpe"}));
  k.push_back(LOGLIN_CONFIG_KEY(data.tokenizer_path, "the BPE tokenizer file (required for bpe)"));
  k.push_back(LOGLIN_CONFIG_KEY(data.seq_len, "tokens per training sequence").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(data.batch_size, "sequences per micro-batch").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(data.val_fraction, "share of the data held out for evaluation").above(0).max(0.5));
  k.push_back(LOGLIN_CONFIG_KEY(data.pack,
                                "rows of whole documents (cut at seq_len; a row's tail takes the next one's start), "
                                "every mixer restarting at each; false = random windows across documents"));
  k.push_back(LOGLIN_CONFIG_KEY(data.documents, "with pack: files = each file is a document; blank_lines = also "
                                                "each run of lines between blank lines")
                  .one_of({"files", "blank_lines"}));
  k.push_back(LOGLIN_CONFIG_KEY(data.cache_dir, "where downloads and tokenized data are cached"));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.num_pairs, "key-value pairs per MQAR example (with train_mix: its most)")
                  .min(1));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.vocab_size, "MQAR vocabulary; keys and values use separate halves").min(4));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.seq_len, "MQAR example length (with train_mix: its longest)").min(2));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.num_queries, "queries per example; 0 = as many as pairs").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.train_examples, "MQAR training examples (with train_mix: its total)").min(1));
  k.push_back(
      LOGLIN_CONFIG_KEY(data.mqar.val_examples, "MQAR validation examples of each test setting, when no test_configs")
          .min(1));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.preset,
                                "zoology: vocab 8192 and, when train_mix is not given, the Zoology mixture "
                                "(64,4,100k) (128,8,20k) (256,16,20k) (256,32,20k) (256,64,20k)")
                  .one_of({"none", "zoology"}));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.train_mix,
                                "training settings in one pool, drawn in proportion to their examples; sets "
                                "seq_len, num_pairs, train_examples to its longest, most, total"));
  k.push_back(LOGLIN_CONFIG_KEY(data.mqar.test_configs,
                                "test settings, each scored on its own (val_accuracy/SEQxPAIRS); none: val_examples "
                                "of each training setting"));
  // optimizer
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.name, "optimizer").one_of({"adamw", "sgd"}));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.lr, "peak learning rate").above(0));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.beta1, "AdamW first-moment decay").min(0).below(1));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.beta2, "AdamW second-moment decay").min(0).below(1));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.eps, "AdamW denominator epsilon").above(0));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.weight_decay, "decoupled weight decay (matrices only)").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.momentum, "SGD momentum").min(0).below(1));
  k.push_back(LOGLIN_CONFIG_KEY(optimizer.decay_embeddings, "apply weight decay to embeddings too"));
  // schedule
  k.push_back(LOGLIN_CONFIG_KEY(schedule.name, "learning-rate schedule after warmup (wsd: warmup-stable-decay)")
                  .one_of({"cosine", "constant", "wsd"}));
  k.push_back(LOGLIN_CONFIG_KEY(schedule.warmup_steps, "linear warmup steps").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(schedule.min_lr_ratio, "final lr as a fraction of the peak").min(0).max(1));
  k.push_back(LOGLIN_CONFIG_KEY(schedule.decay_fraction, "wsd: share of the steps spent decaying").min(0).max(1));
  // training
  k.push_back(LOGLIN_CONFIG_KEY(training.steps, "optimizer steps; 0 = run until max_tokens").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.max_tokens, "token budget, used when steps is 0").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.grad_accum, "micro-batches per optimizer step").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(training.grad_clip, "max global gradient norm; 0 = off").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.seed, "seed for init, data order and sampling").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.device, "auto = cuda when present, else cpu").device_name());
  k.push_back(LOGLIN_CONFIG_KEY(training.precision,
                                "bf16-mixed: bf16 compute, f32 master weights; tf32: f32 under float32 matmul "
                                "precision high (TF32 tensor-core products in matmul, log-linear and scalar-decay "
                                "attention; CUDA)")
                  .one_of({"f32", "bf16-mixed", "tf32"}));
  k.push_back(LOGLIN_CONFIG_KEY(training.activation_checkpointing,
                                "keep only each block's input for backward and recompute the block there: less "
                                "memory for long contexts, one more forward; gradients unchanged"));
  k.push_back(LOGLIN_CONFIG_KEY(training.eval_every, "steps between evaluations; 0 = only at the end").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.eval_batches, "batches per evaluation").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(training.eval_position_buckets,
                                "evaluations also report the mean validation loss in this many equal buckets of "
                                "positions 0 .. seq_len - 1 (val_loss/pos_0-255, ...); 0 = off")
                  .min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.sample_every, "steps between text samples; 0 = at each eval").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.sample_tokens, "tokens per sample; 0 = no samples").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.sample_prompt, "prompt the samples continue"));
  k.push_back(LOGLIN_CONFIG_KEY(training.sample_temperature, "sampling temperature; 0 = greedy").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(training.sample_top_k, "sample from the k likeliest tokens; 0 = all").min(0));
  // checkpoint
  k.push_back(LOGLIN_CONFIG_KEY(checkpoint.every, "steps between checkpoints; 0 = only at the end").min(0));
  k.push_back(LOGLIN_CONFIG_KEY(checkpoint.keep_last, "checkpoints kept on disk").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(checkpoint.resume, "continue from the latest checkpoint in run_dir"));
  // logging
  k.push_back(LOGLIN_CONFIG_KEY(logging.run_dir, "where logs, samples, checkpoints and the config go"));
  k.push_back(LOGLIN_CONFIG_KEY(logging.log_every, "steps between log lines").min(1));
  k.push_back(LOGLIN_CONFIG_KEY(logging.progress, "progress bar; auto = when stderr is a terminal")
                  .one_of({"auto", "on", "off"}));
  // distributed
  k.push_back(LOGLIN_CONFIG_KEY(distributed.zero1,
                                "data parallel: each rank keeps the optimizer state of its share of the parameters "
                                "(ZeRO-1); no effect in one process"));
  return k;
}

std::string parent_of(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

}  // namespace

const std::vector<KeySpec>& schema() {
  static const std::vector<KeySpec> keys = build_schema();
  return keys;
}

const KeySpec* find_key(const std::string& path) {
  for (const auto& k : schema())
    if (k.path == path) return &k;
  return nullptr;
}

const std::vector<std::string>& section_paths() {
  static const std::vector<std::string> sections = [] {
    std::vector<std::string> out;
    for (const auto& k : schema())
      for (std::string p = parent_of(k.path); !p.empty(); p = parent_of(p))
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
      return std::count(a.begin(), a.end(), '.') < std::count(b.begin(), b.end(), '.');
    });
    return out;
  }();
  return sections;
}

std::vector<std::string> children_of(const std::string& section) {
  std::vector<std::string> out;
  auto add = [&](const std::string& path) {
    if (parent_of(path) != section) return;
    std::string leaf = section.empty() ? path : path.substr(section.size() + 1);
    if (std::find(out.begin(), out.end(), leaf) == out.end()) out.push_back(leaf);
  };
  for (const auto& k : schema()) add(k.path);
  for (const auto& s : section_paths()) add(s);
  return out;
}

}  // namespace loglin::config_detail

namespace loglin {

int ModelConfig::resolved_mlp_hidden() const {
  if (mlp_hidden > 0) return mlp_hidden;
  int64_t h = (8 * int64_t(d_model) + 2) / 3;
  return int((h + 63) / 64 * 64);
}

std::vector<std::string> config_key_paths() {
  std::vector<std::string> out;
  for (const auto& k : config_detail::schema()) out.push_back(k.path);
  return out;
}

}  // namespace loglin

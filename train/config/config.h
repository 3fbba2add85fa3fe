// The training config: a typed struct per YAML section. The member
// initialisers below are the defaults; the schema (config_schema.cpp) adds
// type, range, choices and a description for each key, and validation,
// to_yaml and the reference table are all driven from it.
//
//   TrainConfig c = load_config("configs/x.yaml", {"optimizer.lr=1e-3"});
//
// Every error is a loglin::Error that starts with "[config]" and names the
// source and line ("configs/x.yaml:12: unknown key 'model.d_modle' (did you
// mean 'model.d_model'?)"); overrides are named "--set KEY=VALUE".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loglin {

struct ModelConfig {
  std::string arch;  // required: transformer | mamba2 | loglinear_mamba2 | gated_deltanet | loglinear_gated_deltanet
  int d_model = 256;
  int n_layers = 4;
  int n_heads = 4;    // attention heads (transformer), Gated DeltaNet heads H
  int head_dim = 64;  // mamba head dim P, Gated DeltaNet key dim K
  int d_state = 64;   // mamba state size N
  int expand = 2;
  int expand_v = 2;  // Gated DeltaNet value dim V = expand_v * head_dim
  int n_groups = 1;
  int conv_kernel = 4;
  int chunk_size = 64;
  int max_seq_len = 1024;
  bool mlp = true;
  int mlp_hidden = 0;  // 0 = auto, see resolved_mlp_hidden()
  bool tie_embeddings = true;
  double dropout = 0.0;
  double norm_eps = 1e-5;
  double init_std = 0.02;
  int vocab_size = 0;  // 0 = from the tokenizer / dataset

  // mlp_hidden, or 8/3 d_model rounded up to a multiple of 64 when it is 0.
  int resolved_mlp_hidden() const;
  bool operator==(const ModelConfig&) const = default;
};

// One MQAR setting of a mixture or a test list: `examples` examples of
// seq_len tokens holding num_pairs key-value pairs.
struct MqarTaskConfig {
  int seq_len = 0;
  int num_pairs = 0;
  int examples = 0;
  bool operator==(const MqarTaskConfig&) const = default;
};

struct MqarConfig {
  int num_pairs = 8;
  int vocab_size = 64;
  int seq_len = 64;
  int num_queries = 0;  // 0 = as many as pairs
  int train_examples = 20000;
  int val_examples = 1000;
  // none | zoology: the Zoology setup (vocab 8192 and, when train_mix is
  // empty, its five training settings), filled in by validation.
  std::string preset = "none";
  // Training settings mixed in one pool (rows drawn in proportion to their
  // examples). Empty: the single setting (seq_len, num_pairs,
  // train_examples). When given, validation sets seq_len, num_pairs and
  // train_examples to the mixture's longest, most pairs and total.
  std::vector<MqarTaskConfig> train_mix;
  // Settings scored one by one. Empty: val_examples of each training setting.
  std::vector<MqarTaskConfig> test_configs;
  bool operator==(const MqarConfig&) const = default;
};

struct DataConfig {
  std::string dataset = "brown";   // brown | text | mqar
  std::string path;                // text: a file or a directory
  std::string tokenizer = "byte";  // byte | bpe
  std::string tokenizer_path;
  int seq_len = 256;
  int batch_size = 8;
  double val_fraction = 0.05;
  bool pack = false;                  // rows of whole documents, mixers restarting at each (text, brown)
  std::string documents = "files";    // files | blank_lines: where documents end, with pack
  std::string cache_dir = ".cache/loglin";
  MqarConfig mqar;
  bool operator==(const DataConfig&) const = default;
};

struct OptimizerConfig {
  std::string name = "adamw";  // adamw | sgd
  double lr = 3e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  double momentum = 0.9;  // sgd
  bool decay_embeddings = false;
  bool operator==(const OptimizerConfig&) const = default;
};

struct ScheduleConfig {
  std::string name = "cosine";  // cosine | constant | wsd
  int warmup_steps = 100;
  double min_lr_ratio = 0.1;
  double decay_fraction = 0.2;  // wsd
  bool operator==(const ScheduleConfig&) const = default;
};

struct TrainingConfig {
  int64_t steps = 1000;  // 0 = run until max_tokens
  int64_t max_tokens = 0;
  int grad_accum = 1;
  double grad_clip = 1.0;  // 0 = off
  int64_t seed = 0;
  std::string device = "auto";    // auto | cpu | cuda | cuda:N
  std::string precision = "f32";  // f32 | bf16-mixed | tf32 (train/trainer/precision.h)
  bool activation_checkpointing = false;  // recompute each block's forward in backward (autograd/checkpoint.h)
  int eval_every = 100;
  int eval_batches = 10;
  int eval_position_buckets = 0;  // 0 = off; else val_loss/pos_A-B per equal bucket of the context
  int sample_every = 0;  // 0 = at each eval
  int sample_tokens = 100;
  std::string sample_prompt;
  double sample_temperature = 0.8;
  int sample_top_k = 40;
  bool operator==(const TrainingConfig&) const = default;
};

struct CheckpointConfig {
  int every = 500;  // 0 = only at the end
  int keep_last = 3;
  bool resume = false;
  bool operator==(const CheckpointConfig&) const = default;
};

struct LoggingConfig {
  std::string run_dir = "runs/default";
  int log_every = 1;
  std::string progress = "auto";  // auto | on | off
  bool operator==(const LoggingConfig&) const = default;
};

// Data parallelism (`loglin train --gpus N`, or ranks started by mpirun / srun).
struct DistributedConfig {
  bool zero1 = false;  // ZeRO-1: shard the optimizer state over the ranks
  bool operator==(const DistributedConfig&) const = default;
};

struct TrainConfig {
  ModelConfig model;
  DataConfig data;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  TrainingConfig training;
  CheckpointConfig checkpoint;
  LoggingConfig logging;
  DistributedConfig distributed;
  bool operator==(const TrainConfig&) const = default;
};

// Reads and validates a YAML file, then applies "a.b=value" overrides (as
// given to --set) and validates the result. Throws loglin::Error.
TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The same on YAML text; source_name is what errors call it.
TrainConfig parse_config(const std::string& yaml_text, const std::string& source_name,
                         const std::vector<std::string>& overrides = {});

// The fully resolved config as YAML, every key present with a comment;
// parse_config(to_yaml(c), ...) == c.
std::string to_yaml(const TrainConfig& config);

// A Markdown table of every key: path, type, default, allowed values,
// description (for the README).
std::string config_reference_markdown();

// Every key path ("model.d_model", "data.mqar.num_pairs", ...), in schema order.
std::vector<std::string> config_key_paths();

}  // namespace loglin

// The YAML config: defaults, every kind of error (with its line and
// suggestion), --set overrides, cross-key checks and the to_yaml round trip.
#include <cstdio>
#include <fstream>
#include <string>

#include "catch.h"
#include "core/error.h"
#include "test_util.h"
#include "train/config/config.h"
#include "train/config/suggest.h"

using loglin::parse_config;
using loglin::TrainConfig;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

std::string parse_error(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  return error_message([&] { parse_config(yaml, "x.yaml", sets); });
}

const char* kMinimal = "model:\n  arch: transformer\n";

}  // namespace

TEST_CASE("config: a minimal file gets every default", "[train]") {
  TrainConfig c = parse_config(kMinimal, "x.yaml");
  TrainConfig expected;
  expected.model.arch = "transformer";
  CHECK(c == expected);
  CHECK(c.model.d_model == 256);
  CHECK(c.model.chunk_size == 64);
  CHECK(c.model.mlp);
  CHECK(c.model.norm_eps == 1e-5);
  CHECK(c.data.dataset == "brown");
  CHECK(c.data.tokenizer == "byte");
  CHECK(c.data.mqar.num_pairs == 8);
  CHECK(c.data.mqar.train_examples == 20000);
  CHECK(c.optimizer.name == "adamw");
  CHECK(c.optimizer.lr == 3e-3);
  CHECK(c.optimizer.beta2 == 0.95);
  CHECK(c.schedule.name == "cosine");
  CHECK(c.training.steps == 1000);
  CHECK(c.training.device == "auto");
  CHECK(c.training.sample_top_k == 40);
  CHECK(c.checkpoint.keep_last == 3);
  CHECK(c.logging.run_dir == "runs/default");
  CHECK(c.logging.progress == "auto");
}

TEST_CASE("config: values of every type are read", "[train]") {
  TrainConfig c = parse_config(R"(
model:
  arch: loglinear_mamba2
  d_model: 128
  mlp: false
  dropout: 0.1
  norm_eps: 1.0e-6
data:
  dataset: mqar
  mqar:
    num_pairs: 4
    num_queries: 2
optimizer:
  name: sgd
  lr: 1e-2
training:
  steps: 1_000
  device: cuda:1
  sample_prompt: "Once upon a time"
logging:
  progress: off
)",
                               "x.yaml");
  CHECK(c.model.arch == "loglinear_mamba2");
  CHECK(c.model.d_model == 128);
  CHECK_FALSE(c.model.mlp);
  CHECK(c.model.dropout == 0.1);
  CHECK(c.model.norm_eps == 1e-6);
  CHECK(c.data.dataset == "mqar");
  CHECK(c.data.mqar.num_pairs == 4);
  CHECK(c.data.mqar.num_queries == 2);
  CHECK(c.optimizer.name == "sgd");
  CHECK(c.optimizer.lr == 1e-2);
  CHECK(c.training.steps == 1000);
  CHECK(c.training.device == "cuda:1");
  CHECK(c.training.sample_prompt == "Once upon a time");
  CHECK(c.logging.progress == "off");  // a choice, not YAML 1.1's boolean off
}

TEST_CASE("config: integers may be written as 1e6", "[train]") {
  TrainConfig c = parse_config("model: {arch: mamba2}\ntraining: {steps: 0, max_tokens: 2e6}\n", "x.yaml");
  CHECK(c.training.max_tokens == 2000000);
  CHECK(parse_error("model: {arch: mamba2, d_model: 2.5}\n").find("expects an integer, got '2.5'") !=
        std::string::npos);
}

TEST_CASE("config: an unknown key names its line and the near miss", "[train]") {
  std::string e = parse_error("model:\n  arch: mamba2\n  d_modle: 3\n");
  CHECK(contains(e, "[config] x.yaml:3: unknown key 'model.d_modle' (did you mean 'model.d_model'?)"));

  e = parse_error("modle:\n  arch: mamba2\n");
  CHECK(contains(e, "x.yaml:1: unknown key 'modle' (did you mean 'model'?)"));

  e = parse_error("model:\n  arch: mamba2\ndata:\n  mqar:\n    num_pair: 3\n");
  CHECK(contains(e, "x.yaml:5: unknown key 'data.mqar.num_pair' (did you mean 'data.mqar.num_pairs'?)"));

  // The right name in the wrong section.
  e = parse_error("model:\n  arch: mamba2\ntraining:\n  lr: 0.1\n");
  CHECK(contains(e, "x.yaml:4: unknown key 'training.lr' (did you mean 'optimizer.lr'?)"));

  // Nothing close: list what the section holds.
  e = parse_error("model:\n  arch: mamba2\n  zzzzzzzz: 1\n");
  CHECK(contains(e, "x.yaml:3: unknown key 'model.zzzzzzzz' (the keys in 'model' are: arch, d_model"));
  CHECK_FALSE(contains(e, "did you mean"));

  CHECK_THROWS_AS(parse_config("model:\n  arch: mamba2\n  d_modle: 3\n", "x.yaml"), loglin::Error);
}

TEST_CASE("config: a wrong type names the line and the expected type", "[train]") {
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model: abc\n"),
                 "[config] x.yaml:3: 'model.d_model' expects an integer, got 'abc'"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  dropout: lots\n"),
                 "x.yaml:3: 'model.dropout' expects a number, got 'lots'"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  mlp: maybe\n"),
                 "x.yaml:3: 'model.mlp' expects a bool (true or false), got 'maybe'"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model: \"256\"\n"),
                 "x.yaml:3: 'model.d_model' expects an integer, got the quoted string \"256\""));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model: [1, 2]\n"),
                 "x.yaml:3: 'model.d_model' expects an integer (>= 1), got a list"));
  CHECK(contains(parse_error("model:\n  arch: [mamba2]\n"),
                 "x.yaml:2: 'model.arch' expects one of transformer | mamba2 | loglinear_mamba2 | gated_deltanet | "
                 "loglinear_gated_deltanet, got a list"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n---\nmodel:\n  arch: mamba2\n"),
                 "x.yaml: holds 2 YAML documents"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model:\n"),
                 "x.yaml:3: 'model.d_model' has no value (expects an integer (>= 1))"));
  CHECK(contains(parse_error("model: transformer\n"), "x.yaml:1: 'model' is a section and needs keys under it"));
  CHECK(contains(parse_error("- model\n"), "the top level must be a map of sections"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\noptimizer:\n  lr: .inf\n"),
                 "x.yaml:4: 'optimizer.lr' expects a number"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model: 99999999999\n"),
                 "x.yaml:3: 'model.d_model' is out of range"));
}

TEST_CASE("config: a missing required key is named", "[train]") {
  std::string e = parse_error("data:\n  batch_size: 4\n");
  CHECK(contains(e,
                 "[config] x.yaml: missing required key 'model.arch' (one of transformer | mamba2 | loglinear_mamba2 | "
                 "gated_deltanet | loglinear_gated_deltanet)"));
  CHECK(contains(parse_error(""), "missing required key 'model.arch'"));
  CHECK(contains(parse_error("model:\n"), "missing required key 'model.arch'"));
}

TEST_CASE("config: out-of-range values and bad choices are named with the allowed range", "[train]") {
  CHECK(contains(parse_error("model:\n  arch: mamba2\noptimizer:\n  lr: 0\n"),
                 "x.yaml:4: 'optimizer.lr' must be > 0, got 0"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\ndata:\n  val_fraction: 0.6\n"),
                 "x.yaml:4: 'data.val_fraction' must be in (0, 0.5], got 0.6"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\nschedule:\n  min_lr_ratio: 1.5\n"),
                 "'schedule.min_lr_ratio' must be in [0, 1], got 1.5"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  chunk_size: 48\n"),
                 "x.yaml:3: 'model.chunk_size' must be a power of two, got 48"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\ncheckpoint:\n  keep_last: 0\n"),
                 "x.yaml:4: 'checkpoint.keep_last' must be >= 1, got 0"));
  CHECK(contains(parse_error("model:\n  arch: transfomer\n"),
                 "x.yaml:2: 'model.arch' must be one of transformer | mamba2 | loglinear_mamba2 | gated_deltanet | "
                 "loglinear_gated_deltanet, got 'transfomer' (did you mean 'transformer'?)"));
  CHECK(contains(parse_error("model:\n  arch: gated_deltanet\n  expand_v: 0\n"),
                 "x.yaml:3: 'model.expand_v' must be >= 1, got 0"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\ntraining:\n  device: gpu\n"),
                 "x.yaml:4: 'training.device' must be one of auto | cpu | cuda | cuda:N, got 'gpu'"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\ntraining:\n  device: cuda:x\n"),
                 "'training.device' must be one of"));
}

TEST_CASE("config: duplicate keys and YAML syntax errors name their lines", "[train]") {
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model: 64\n  d_model: 128\n"),
                 "x.yaml:4: duplicate key 'model.d_model' (first given at x.yaml:3)"));
  std::string e = parse_error("model:\n  arch: mamba2\n  d_model: [1, 2\n");
  CHECK(contains(e, "[config] x.yaml:"));
  CHECK(contains(e, "invalid YAML"));
}

TEST_CASE("config: --set overrides keys of every type", "[train]") {
  TrainConfig c = parse_config(
      kMinimal, "x.yaml",
      {"model.d_model=512", "optimizer.lr=1e-4", "model.mlp=false", "data.path=corpus dir/", "model.arch=mamba2",
       "data.mqar.num_pairs=16", "data.mqar.vocab_size=128", "training.sample_prompt=", "training.seed=42"});
  CHECK(c.model.d_model == 512);
  CHECK(c.optimizer.lr == 1e-4);
  CHECK_FALSE(c.model.mlp);
  CHECK(c.data.path == "corpus dir/");
  CHECK(c.model.arch == "mamba2");
  CHECK(c.data.mqar.num_pairs == 16);
  CHECK(c.data.mqar.vocab_size == 128);
  CHECK(c.training.sample_prompt.empty());
  CHECK(c.training.seed == 42);
  // The last override wins, and overrides win over the file.
  CHECK(parse_config("model:\n  arch: mamba2\n  d_model: 64\n", "x.yaml", {"model.d_model=96", "model.d_model=128"})
            .model.d_model == 128);
  // A --set can supply the required key.
  CHECK(parse_config("", "x.yaml", {"model.arch=transformer"}).model.arch == "transformer");
}

TEST_CASE("config: bad --set overrides are named", "[train]") {
  CHECK(contains(parse_error(kMinimal, {"model.d_model"}), "[config] bad --set 'model.d_model': expected a.b=value"));
  CHECK(contains(parse_error(kMinimal, {"=3"}), "expected a.b=value"));
  CHECK(contains(parse_error(kMinimal, {"model.d_modle=3"}),
                 "[config] --set model.d_modle=3: unknown key 'model.d_modle' (did you mean 'model.d_model'?)"));
  CHECK(contains(parse_error(kMinimal, {"data.mqar.num_pair=3"}), "did you mean 'data.mqar.num_pairs'?"));
  CHECK(contains(parse_error(kMinimal, {"model.d_model=big"}),
                 "--set model.d_model=big: 'model.d_model' expects an integer, got 'big'"));
  CHECK(contains(parse_error(kMinimal, {"data.mqar=3"}), "'data.mqar' is a section"));
  CHECK(contains(parse_error(kMinimal, {"optimizer.lr=-1"}), "--set optimizer.lr=-1: 'optimizer.lr' must be > 0"));
}

TEST_CASE("config: cross-key checks", "[train]") {
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata:\n  tokenizer: bpe\n"),
                 "x.yaml:3: data.tokenizer is bpe but data.tokenizer_path is empty"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata:\n  dataset: text\n"), "data.path is empty"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ntraining:\n  steps: 0\n"),
                 "x.yaml:3: training.steps and training.max_tokens are both 0"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ntraining:\n  steps: 10\n  max_tokens: 1000\n"),
                 "x.yaml:4: training.steps (10) and training.max_tokens (1000) are both set"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  d_model: 96\n  head_dim: 80\n"),
                 "x.yaml:4: model.head_dim (80) must divide model.d_model * model.expand (96 * 2 = 192)"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  n_groups: 3\n"),
                 "x.yaml:3: model.n_groups (3) must divide the head count"));
  CHECK(contains(parse_error("model:\n  arch: transformer\n  n_heads: 5\n"),
                 "x.yaml:3: model.n_heads (5) must divide model.d_model (256)"));
  CHECK(contains(parse_error("model:\n  arch: mamba2\n  max_seq_len: 128\n"),
                 "x.yaml:3: data.seq_len (256) exceeds model.max_seq_len (128)"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ntraining:\n  device: cpu\n  precision: bf16-mixed\n"),
                 "x.yaml:4: training.precision bf16-mixed needs a CUDA device"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ntraining:\n  device: cpu\n  precision: tf32\n"),
                 "x.yaml:4: training.precision tf32 needs a CUDA device"));
  CHECK(
      contains(
          parse_error("model: {arch: mamba2}\ndata:\n  dataset: mqar\n  mqar:\n    num_pairs: 4\n    num_queries: 5\n"),
          "x.yaml:6: data.mqar.num_queries (5) must not exceed data.mqar.num_pairs (4)"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata:\n  dataset: mqar\n  mqar:\n    num_pairs: 40\n"),
                 "data.mqar.vocab_size (64) must be at least 2 * num_pairs (80)"));
  CHECK(contains(parse_error(kMinimal, {"model.vocab_size=100"}),
                 "--set model.vocab_size=100: model.vocab_size (100)"));
  // Position buckets: at most one per position of a sequence (data.seq_len, or MQAR's longest).
  CHECK(contains(parse_error("model: {arch: mamba2}\ntraining:\n  eval_position_buckets: 257\n"),
                 "x.yaml:3: training.eval_position_buckets (257) exceeds the 256 positions of a sequence "
                 "(data.seq_len); use at most 256"));
  CHECK(contains(parse_error("model: {arch: mamba2}\ndata: {dataset: mqar}\n", {"training.eval_position_buckets=65"}),
                 "--set training.eval_position_buckets=65: training.eval_position_buckets (65) exceeds the 64 "
                 "positions of a sequence (data.mqar.seq_len)"));
  CHECK(parse_config("model: {arch: mamba2}\ntraining: {eval_position_buckets: 256}\n", "x.yaml")
            .training.eval_position_buckets == 256);
  CHECK(parse_config(kMinimal, "x.yaml").training.eval_position_buckets == 0);  // off by default
  CHECK(contains(parse_error(kMinimal, {"training.eval_position_buckets=-1"}), "eval_position_buckets"));
  // Mamba-only keys do not constrain a transformer, and vice versa.
  CHECK_NOTHROW(parse_config("model:\n  arch: transformer\n  head_dim: 60\n", "x.yaml"));
  CHECK_NOTHROW(parse_config("model:\n  arch: mamba2\n  n_heads: 7\n", "x.yaml"));
  // Gated DeltaNet's heads and head dim are free of d_model.
  TrainConfig g = parse_config("model:\n  arch: loglinear_gated_deltanet\n  d_model: 96\n  n_heads: 5\n  head_dim: "
                               "48\n  expand_v: 3\n",
                               "x.yaml");
  CHECK(g.model.n_heads == 5);
  CHECK(g.model.head_dim == 48);
  CHECK(g.model.expand_v == 3);
}

TEST_CASE("config: a token budget on its own replaces the default step count", "[train]") {
  TrainConfig c = parse_config("model: {arch: mamba2}\ntraining:\n  max_tokens: 1000000\n", "x.yaml");
  CHECK(c.training.steps == 0);
  CHECK(c.training.max_tokens == 1000000);
  c = parse_config(kMinimal, "x.yaml", {"training.max_tokens=5000"});
  CHECK(c.training.steps == 0);
}

TEST_CASE("config: to_yaml writes every key and reads back the same config", "[train]") {
  TrainConfig c = parse_config(kMinimal, "x.yaml");
  c.model.arch = "loglinear_mamba2";
  c.model.d_model = 192;
  c.model.norm_eps = 1e-6;
  c.model.init_std = 0.1 + 0.2;  // not exactly representable: must round-trip bit for bit
  c.model.mlp = false;
  c.data.dataset = "text";
  c.data.path = "my corpus/\"quoted\" #not a comment\\";
  c.data.mqar.num_queries = 3;
  c.optimizer.lr = 1.0 / 3.0;
  c.schedule.name = "wsd";
  c.training.device = "cuda:0";
  c.training.sample_prompt = "line one\nline two\ttab \x01 caf\xc3\xa9: - [x]";
  c.training.seed = 1234567890123;
  c.logging.progress = "on";
  const std::string yaml = loglin::to_yaml(c);
  for (const auto& key : loglin::config_key_paths()) {
    const std::string leaf = key.substr(key.rfind('.') + 1) + ":";
    CHECK(contains(yaml, leaf));
  }
  TrainConfig back = parse_config(yaml, "resolved.yaml");
  CHECK(back == c);
  CHECK(loglin::to_yaml(back) == yaml);
  CHECK(parse_config(loglin::to_yaml(parse_config(kMinimal, "x.yaml")), "r.yaml") == parse_config(kMinimal, "x.yaml"));
}

TEST_CASE("config: the reference table lists every key", "[train]") {
  const std::string md = loglin::config_reference_markdown();
  CHECK(contains(md, "| key | type | default | allowed | description |"));
  for (const auto& key : loglin::config_key_paths()) CHECK(contains(md, "| `" + key + "` |"));
  CHECK(contains(md, "| `model.arch` | choice | (required) | transformer \\| mamba2 \\| loglinear_mamba2 \\| "
                     "gated_deltanet \\| loglinear_gated_deltanet |"));
  CHECK(contains(md, "| `optimizer.lr` | number | `0.003` | > 0 |"));
  CHECK(contains(md, "| `data.mqar.num_pairs` | integer | `8` | >= 1 |"));
}

TEST_CASE("config: load_config reads a file and names it in errors", "[train]") {
  const std::string path = "test_config_tmp.yaml";
  {
    std::ofstream f(path);
    f << "model:\n  arch: mamba2\n  d_modle: 1\n";
  }
  std::string e = error_message([&] { loglin::load_config(path); });
  CHECK(contains(e, "[config] test_config_tmp.yaml:3: unknown key 'model.d_modle'"));
  {
    std::ofstream f(path);
    f << "model:\n  arch: mamba2\n";
  }
  CHECK(loglin::load_config(path, {"model.n_layers=2"}).model.n_layers == 2);
  std::remove(path.c_str());
  CHECK(contains(error_message([&] { loglin::load_config("no/such/config.yaml"); }),
                 "[config] cannot read config file 'no/such/config.yaml'"));
}

TEST_CASE("config: edit distance and suggestions", "[train]") {
  CHECK(loglin::edit_distance("d_modle", "d_model") == 1);
  CHECK(loglin::edit_distance("", "abc") == 3);
  CHECK(loglin::edit_distance("kitten", "sitting") == 3);
  CHECK(loglin::closest_match("lr", {"lr_x", "eps", "l"}) == "l");
  CHECK(loglin::closest_match("banana", {"model", "data"}).empty());
}

TEST_CASE("config: resolved_mlp_hidden rounds 8/3 d_model up to 64", "[train]") {
  loglin::ModelConfig m;
  m.d_model = 256;
  CHECK(m.resolved_mlp_hidden() == 704);  // 682.7 -> 704
  m.d_model = 96;
  CHECK(m.resolved_mlp_hidden() == 256);
  m.mlp_hidden = 100;
  CHECK(m.resolved_mlp_hidden() == 100);
}

// training.activation_checkpointing: a run with it ends with the same
// weights and logs the same losses, bit for bit, as the run without it
// (dropout on, two micro-batches per step, two blocks).
#include <filesystem>
#include <string>

#include <unistd.h>

#include "catch.h"
#include "train/checkpoint/checkpoint.h"
#include "train/trainer/metrics_log.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;

namespace {

TrainConfig tiny(const fs::path& run_dir, bool checkpointing) {
  std::string yaml = R"(
model: {arch: loglinear_gated_deltanet, d_model: 16, n_layers: 2, n_heads: 2, head_dim: 8, chunk_size: 8, max_seq_len: 32, dropout: 0.1}
data: {dataset: mqar, batch_size: 4, mqar: {num_pairs: 2, vocab_size: 16, seq_len: 16, train_examples: 64, val_examples: 16}}
schedule: {warmup_steps: 2}
training: {steps: 4, grad_accum: 2, eval_every: 0, eval_batches: 1, seed: 3, device: cpu, activation_checkpointing: CKPT}
checkpoint: {every: 4}
logging: {run_dir: RUN, progress: off}
)";
  yaml.replace(yaml.find("CKPT"), 4, checkpointing ? "true" : "false");
  yaml.replace(yaml.find("RUN"), 3, run_dir.string());
  return parse_config(yaml, "tiny");
}

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("loglin_act_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

}  // namespace

TEST_CASE("activation_checkpointing: the same run, bit for bit", "[train][checkpoint]") {
  const fs::path plain = scratch("plain"), ck = scratch("ckpt");
  TrainConfig with = tiny(ck, true);
  REQUIRE(with.training.activation_checkpointing);
  Trainer(tiny(plain, false)).run();
  Trainer(with).run();
  Checkpoint a = load_checkpoint(*latest_checkpoint(plain / "checkpoints"));
  Checkpoint b = load_checkpoint(*latest_checkpoint(ck / "checkpoints"));
  for (const auto& [name, t] : a.model) {
    INFO(name);
    CHECK(t.to_vector<float>() == b.model.at(name).to_vector<float>());
  }
  auto ma = read_metrics(plain / "metrics.jsonl"), mb = read_metrics(ck / "metrics.jsonl");
  REQUIRE(ma.size() == mb.size());
  for (size_t i = 0; i < ma.size(); ++i) CHECK(ma[i].get("loss") == mb[i].get("loss"));
  fs::remove_all(plain);
  fs::remove_all(ck);
}

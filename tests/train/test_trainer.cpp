// End-to-end trainer tests on tiny settings: exact resume, run-directory
// safety, text training with eval and sampling, and MQAR learning.
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "train/checkpoint/checkpoint.h"
#include "train/trainer/metrics_log.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("loglin_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TrainConfig tiny_mqar(const fs::path& run_dir, const std::string& arch = "loglinear_mamba2") {
  std::string yaml = R"(
model: {arch: ARCH, d_model: 16, n_layers: 1, n_heads: 2, head_dim: 8, d_state: 8, chunk_size: 8, max_seq_len: 32, mlp: false}
data: {dataset: mqar, batch_size: 4, mqar: {num_pairs: 2, vocab_size: 16, seq_len: 16, train_examples: 64, val_examples: 16}}
schedule: {warmup_steps: 2}
training: {steps: 12, eval_every: 6, eval_batches: 2, seed: 7, device: cpu}
checkpoint: {every: 4, keep_last: 5}
logging: {run_dir: RUN, progress: off}
)";
  yaml.replace(yaml.find("ARCH"), 4, arch);
  yaml.replace(yaml.find("RUN"), 3, run_dir.string());
  return parse_config(yaml, "tiny_mqar");
}

}  // namespace

TEST_CASE("a resumed run ends bit-identical to an uninterrupted one", "[train][resume]") {
  fs::path a = scratch("full"), b = scratch("killed");
  Trainer(tiny_mqar(a)).run();

  Trainer killed(tiny_mqar(b));
  killed.stop_after(6);  // dies after step 6; the last checkpoint is step 4
  killed.run();
  REQUIRE(latest_checkpoint(b / "checkpoints")->filename() == "step_000004");
  TrainConfig resume = tiny_mqar(b);
  resume.checkpoint.resume = true;
  Trainer(resume).run();

  Checkpoint ca = load_checkpoint(*latest_checkpoint(a / "checkpoints"));
  Checkpoint cb = load_checkpoint(*latest_checkpoint(b / "checkpoints"));
  REQUIRE(ca.step == 12);
  REQUIRE(cb.step == 12);
  for (const auto& [name, t] : ca.model) {
    INFO(name);
    CHECK(t.to_vector<float>() == cb.model.at(name).to_vector<float>());
  }
  // metrics.jsonl reads as one run: the same losses at the same steps.
  auto ma = read_metrics(a / "metrics.jsonl"), mb = read_metrics(b / "metrics.jsonl");
  REQUIRE(ma.size() == mb.size());
  for (size_t i = 0; i < ma.size(); ++i) {
    CHECK(ma[i].step == mb[i].step);
    CHECK(ma[i].get("loss") == mb[i].get("loss"));
  }
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_CASE("a run directory with checkpoints is not overwritten without resume", "[train]") {
  fs::path d = scratch("guard");
  TrainConfig c = tiny_mqar(d);
  c.training.steps = 4;
  Trainer(c).run();
  auto before = fs::last_write_time(d / "metrics.jsonl");
  try {
    Trainer(c).run();
    FAIL("second run into the same directory was allowed");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("checkpoint.resume") != std::string::npos);
  }
  CHECK(fs::last_write_time(d / "metrics.jsonl") == before);
  fs::remove_all(d);
}

TEST_CASE("training on text lowers the loss, eval and sampling work from the checkpoint", "[train]") {
  fs::path d = scratch("text");
  fs::create_directories(d);
  {
    std::ofstream f(d / "corpus.txt");
    for (int i = 0; i < 400; ++i) f << "the quick brown fox jumps over the lazy dog. ";
  }
  std::string yaml = "model: {arch: transformer, d_model: 32, n_layers: 1, n_heads: 2, max_seq_len: 32}\n"
                     "data: {dataset: text, path: " + (d / "corpus.txt").string() + ", seq_len: 32, batch_size: 8, "
                     "cache_dir: " + (d / "cache").string() + "}\n"
                     "optimizer: {lr: 0.01}\nschedule: {warmup_steps: 5}\n"
                     "training: {steps: 60, eval_every: 60, eval_batches: 4, sample_tokens: 20, sample_prompt: the}\n"
                     "logging: {run_dir: " + (d / "run").string() + ", progress: off}\n";
  TrainSummary s = Trainer(parse_config(yaml, "text")).run();
  auto rows = read_metrics(d / "run" / "metrics.jsonl");
  double first = -1, last = -1;
  for (const auto& r : rows)
    if (r.kind == "train") {
      if (first < 0) first = r.get("loss");
      last = r.get("loss");
    }
  CHECK(first > 3.0);  // ~ log(256) at the start
  CHECK(last < 0.6 * first);
  CHECK(s.final_eval.bits_per_byte > 0);
  CHECK(s.final_eval.bits_per_byte < 6);
  CHECK(s.sample.rfind("the", 0) == 0);
  SavedRun run = open_saved_run((d / "run").string());
  CHECK(run.checkpoint.step == 60);
  CHECK(run.model->num_parameters() > 0);
  fs::remove_all(d);
}

TEST_CASE("a tiny log-linear Mamba-2 learns MQAR far above chance", "[train][mqar]") {
  // On the cpu: its runs are bit-reproducible, so this learning curve is the
  // same every time; on CUDA atomic sums (the embedding gradient) vary it.
  fs::path d = scratch("mqar");
  std::string yaml = R"(
model: {arch: loglinear_mamba2, d_model: 32, n_layers: 2, head_dim: 16, d_state: 16, chunk_size: 8, max_seq_len: 32, mlp: false}
data: {dataset: mqar, batch_size: 32, mqar: {num_pairs: 4, vocab_size: 32, seq_len: 32, train_examples: 4000, val_examples: 256}}
optimizer: {lr: 0.03}
schedule: {warmup_steps: 50}
training: {steps: 600, eval_every: 600, eval_batches: 8, device: cpu}
checkpoint: {every: 0}
logging: {run_dir: RUN, progress: off, log_every: 100}
)";
  yaml.replace(yaml.find("RUN"), 3, d.string());
  TrainSummary s = Trainer(parse_config(yaml, "tiny mqar")).run();
  const double chance = 1.0 / 16;  // values are drawn from half of the 32 ids
  INFO("accuracy " << s.final_eval.accuracy);
  CHECK(s.final_eval.accuracy > 4 * chance);
  fs::remove_all(d);
}

TEST_CASE("device: cuda on a machine without a GPU is a clear error before anything is written", "[train]") {
  if (cuda_is_available()) return;  // the GPU machine trains instead (test_train_cuda.cpp)
  fs::path d = scratch("nogpu");
  TrainConfig c = tiny_mqar(d / "run");
  c.training.device = "cuda";
  try {
    Trainer(c).run();
    FAIL("no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    CHECK(m.find("training.device: cuda asked for") != std::string::npos);
  }
  CHECK(!fs::exists(d / "run"));
}

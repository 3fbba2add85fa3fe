// End-to-end trainer tests on tiny settings: exact resume, run-directory
// safety, text training with eval and sampling, the loss by position bucket,
// and MQAR learning.
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "test_util.h"
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

TEST_CASE("eval_position_buckets: val_loss/pos_A-B in metrics.jsonl, their weighted mean is val_loss", "[train]") {
  fs::path d = scratch("buckets");
  fs::create_directories(d);
  {
    std::ofstream f(d / "corpus.txt");
    for (int i = 0; i < 2000; ++i) f << "pack my box with five dozen liquor jugs. ";
  }
  // seq_len 30 in 4 buckets: uneven, [0, 7) [7, 15) [15, 22) [22, 30).
  auto config = [&](const std::string& run, int buckets) {
    return parse_config("model: {arch: transformer, d_model: 16, n_layers: 1, n_heads: 2, max_seq_len: 32}\n"
                        "data: {dataset: text, path: " + (d / "corpus.txt").string() + ", seq_len: 30, batch_size: 4, "
                        "cache_dir: " + (d / "cache").string() + "}\n"
                        "schedule: {warmup_steps: 2}\n"
                        "training: {steps: 6, eval_every: 3, eval_batches: 3, sample_tokens: 0, "
                        "eval_position_buckets: " + std::to_string(buckets) + "}\n"
                        "logging: {run_dir: " + (d / run).string() + ", progress: off}\n",
                        "buckets");
  };
  CHECK(position_bucket_names(30, 4) == std::vector<std::string>{"0-6", "7-14", "15-21", "22-29"});
  CHECK(position_bucket_names(2048, 8).front() == "0-255");
  CHECK(position_bucket_names(2048, 8).back() == "1792-2047");

  TrainSummary s = Trainer(config("on", 4)).run();
  const EvalResult& e = s.final_eval;
  REQUIRE(e.loss_by_position.size() == 4);
  CHECK(e.targets_by_position == std::vector<int64_t>{3 * 4 * 7, 3 * 4 * 8, 3 * 4 * 7, 3 * 4 * 8});
  double weighted = 0;
  int64_t total = 0;
  for (size_t k = 0; k < 4; ++k) {
    weighted += e.loss_by_position[k].second * static_cast<double>(e.targets_by_position[k]);
    total += e.targets_by_position[k];
  }
  CHECK(total == e.targets);
  LL_CHECK_NEAR(weighted / static_cast<double>(total), e.loss, 1e-5 * e.loss);

  // Every eval row of metrics.jsonl holds the four keys, and they average to its val_loss.
  const std::vector<std::string> keys = {"val_loss/pos_0-6", "val_loss/pos_7-14", "val_loss/pos_15-21",
                                         "val_loss/pos_22-29"};
  const std::vector<double> width = {7, 8, 7, 8};
  int evals = 0;
  for (const auto& r : read_metrics(d / "on" / "metrics.jsonl")) {
    if (r.kind != "eval") continue;
    ++evals;
    double sum = 0;
    for (size_t k = 0; k < 4; ++k) {
      INFO(keys[k]);
      const double v = r.get(keys[k], -1);
      CHECK(v > 0);
      sum += v * width[k];  // text: every position has a target, so the weights are the widths
    }
    LL_CHECK_NEAR(sum / 30, r.get("val_loss"), 1e-5 * r.get("val_loss"));
  }
  CHECK(evals == 2);

  // Off (the default): no such keys, and the same val_loss.
  TrainSummary off = Trainer(config("off", 0)).run();
  CHECK(off.final_eval.loss_by_position.empty());
  CHECK(off.final_eval.loss == e.loss);
  for (const auto& r : read_metrics(d / "off" / "metrics.jsonl"))
    for (const auto& [k, v] : r.values) CHECK(k.find("pos_") == std::string::npos);
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

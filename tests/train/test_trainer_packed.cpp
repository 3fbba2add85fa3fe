// The trainer on packed documents (data.pack): it trains and evaluates every
// architecture on a directory of text files, two in-process data-parallel
// ranks train like one process (each rank's rows keep their own segments),
// and shard_batch cuts cu_seqlens at the rank's rows.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "catch.h"
#include "distributed/in_process_communicator.h"
#include "test_util.h"
#include "train/checkpoint/checkpoint.h"
#include "train/trainer/data_parallel.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;
using loglin_test::TempDir;

namespace {

// Files of a few short paragraphs each, so that rows hold several documents.
void write_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  for (int f = 0; f < 6; ++f) {
    std::ofstream out(dir / ("doc" + std::to_string(f) + ".txt"));
    for (int p = 0; p < 5; ++p) {
      for (int s = 0; s < 1 + (f + p) % 3; ++s)
        out << "paragraph " << p << " of file " << f << " says " << (f * 37 + p * 11 + s) % 97 << ".\n";
      out << "\n";
    }
  }
}

TrainConfig tiny_packed(const fs::path& corpus, const fs::path& run_dir, const std::string& arch) {
  std::string yaml = R"(
model: {arch: ARCH, d_model: 16, n_layers: 1, n_heads: 2, head_dim: 8, d_state: 8, chunk_size: 8, max_seq_len: 32, mlp: false}
data: {dataset: text, path: CORPUS, cache_dir: CACHE, seq_len: 32, batch_size: 4, val_fraction: 0.2, pack: true, documents: blank_lines}
optimizer: {lr: 0.01}
schedule: {warmup_steps: 1}
training: {steps: 4, eval_every: 2, eval_batches: 2, seed: 3, device: cpu, sample_tokens: 0}
checkpoint: {every: 0}
logging: {run_dir: RUN, progress: off}
)";
  yaml.replace(yaml.find("ARCH"), 4, arch);
  yaml.replace(yaml.find("CORPUS"), 6, corpus.string());
  yaml.replace(yaml.find("CACHE"), 5, (corpus / ".cache").string());
  yaml.replace(yaml.find("RUN"), 3, run_dir.string());
  return parse_config(yaml, "tiny_packed");
}

}  // namespace

TEST_CASE("the trainer trains and evaluates every architecture on packed documents", "[train][packed]") {
  TempDir dir("trainer_packed");
  write_corpus(dir.path / "corpus");
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet", "loglinear_gated_deltanet"}) {
    INFO(arch);
    TrainSummary s = Trainer(tiny_packed(dir.path / "corpus", dir.path / arch, arch)).run();
    REQUIRE(s.losses.size() == 4);
    for (double l : s.losses) CHECK(std::isfinite(l));
    CHECK(s.losses.back() < s.losses.front());
    CHECK(std::isfinite(s.final_eval.loss));
    CHECK(s.final_eval.targets == 2 * 4 * 32);  // every position of a packed validation row is a target
  }
}

TEST_CASE("two in-process ranks train on packed documents like one process", "[train][packed][dist]") {
  TempDir dir("trainer_packed_dp");
  write_corpus(dir.path / "corpus");
  TrainSummary single = Trainer(tiny_packed(dir.path / "corpus", dir.path / "one", "mamba2")).run();
  std::vector<TrainSummary> ranks(2);
  std::mutex mu;
  dist::run_in_process(2, [&](dist::Communicator& comm) {
    const fs::path run_dir = dir.path / ("rank" + std::to_string(comm.rank()));
    TrainSummary s = Trainer(tiny_packed(dir.path / "corpus", run_dir, "mamba2"), &comm).run();
    std::lock_guard lock(mu);
    ranks[static_cast<size_t>(comm.rank())] = s;
  });
  REQUIRE(ranks[0].losses.size() == single.losses.size());
  for (size_t i = 0; i < single.losses.size(); ++i) LL_CHECK_NEAR(ranks[0].losses[i], single.losses[i], 1e-5);
  CHECK(ranks[0].rows_per_micro_step == 2);
}

TEST_CASE("shard_batch keeps each rank's segments of a packed batch", "[train][packed][dist]") {
  // Rows of 4: segments 3+1 | 4 | 2+2 | 1+3.
  Batch b{Tensor::zeros({4, 4}, DType::i64), Tensor::zeros({4, 4}, DType::i64),
          Tensor::from_vector(std::vector<int64_t>{0, 3, 4, 8, 10, 12, 13, 16}, {8})};
  ShardedBatch s0 = shard_batch(b, dist::BatchShard(0, 2)), s1 = shard_batch(b, dist::BatchShard(1, 2));
  CHECK(s0.batch.cu_seqlens.to_vector<int64_t>() == std::vector<int64_t>{0, 3, 4, 8});
  CHECK(s1.batch.cu_seqlens.to_vector<int64_t>() == std::vector<int64_t>{0, 2, 4, 5, 8});
  // A segment across the rows of two ranks cannot be split.
  Batch bad = b;
  bad.cu_seqlens = Tensor::from_vector(std::vector<int64_t>{0, 7, 16}, {3});
  LL_CHECK_ERROR(shard_batch(bad, dist::BatchShard(1, 2)), "cannot be split by rows");
}

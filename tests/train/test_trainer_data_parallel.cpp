// The trainer with a communicator: two in-process ranks (threads) on shards
// of every batch train as one process does on the whole batch; only rank 0
// writes; a batch the world size does not divide is a clear error.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <mutex>

#include "autograd/grad_mode.h"
#include "catch.h"
#include "distributed/in_process_communicator.h"
#include "test_util.h"
#include "ops/ops.h"
#include "train/checkpoint/checkpoint.h"
#include "train/trainer/data_parallel.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("loglin_dp_trainer_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TrainConfig tiny_mqar(const fs::path& run_dir, int grad_accum = 1) {
  std::string yaml = R"(
model: {arch: loglinear_mamba2, d_model: 16, n_layers: 1, n_heads: 2, head_dim: 8, d_state: 8, chunk_size: 8, max_seq_len: 32, mlp: false}
data: {dataset: mqar, batch_size: 4, mqar: {num_pairs: 2, vocab_size: 16, seq_len: 16, train_examples: 64, val_examples: 16}}
optimizer: {lr: 0.01}
schedule: {warmup_steps: 2}
training: {steps: 5, grad_accum: ACCUM, eval_every: 0, eval_batches: 2, seed: 7, device: cpu}
checkpoint: {every: 0, keep_last: 5}
logging: {run_dir: RUN, progress: off}
)";
  yaml.replace(yaml.find("ACCUM"), 5, std::to_string(grad_accum));
  yaml.replace(yaml.find("RUN"), 3, run_dir.string());
  return parse_config(yaml, "tiny_mqar");
}

bool close(double a, double b, double tol) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

void check_same_model(const fs::path& a, const fs::path& b) {
  Checkpoint ca = load_checkpoint(*latest_checkpoint(a / "checkpoints"));
  Checkpoint cb = load_checkpoint(*latest_checkpoint(b / "checkpoints"));
  REQUIRE(ca.step == cb.step);
  REQUIRE(ca.model.size() == cb.model.size());
  for (const auto& [name, ta] : ca.model) {
    INFO(name);
    std::vector<float> va = ta.to_vector<float>(), vb = cb.model.at(name).to_vector<float>();
    REQUIRE(va.size() == vb.size());
    size_t bad = 0;
    for (size_t i = 0; i < va.size(); ++i) bad += !close(va[i], vb[i], 1e-5);
    CHECK(bad == 0);
  }
}

}  // namespace

TEST_CASE("two in-process ranks train like one process on the whole batch, and only rank 0 writes", "[train][dist]") {
  for (int accum : {1, 2}) {
    INFO("grad_accum " << accum);
    fs::path one = scratch("one"), r0 = scratch("rank0"), r1 = scratch("rank1");
    TrainSummary single = Trainer(tiny_mqar(one, accum)).run();
    REQUIRE(single.losses.size() == 5);

    std::vector<TrainSummary> ranks(2);
    std::mutex mu;
    dist::run_in_process(2, [&](dist::Communicator& comm) {
      // Rank 1 gets a run directory of its own, to see that it writes nothing there.
      TrainSummary s = Trainer(tiny_mqar(comm.rank() == 0 ? r0 : r1, accum), &comm).run();
      std::lock_guard lock(mu);
      ranks[static_cast<size_t>(comm.rank())] = s;
    });

    for (int r = 0; r < 2; ++r) {
      INFO("rank " << r);
      REQUIRE(ranks[r].losses.size() == 5);
      for (size_t i = 0; i < 5; ++i) {
        INFO("step " << i + 1 << ": " << ranks[r].losses[i] << " vs " << single.losses[i]);
        CHECK(close(ranks[r].losses[i], single.losses[i], 1e-5));
      }
    }
    CHECK(single.rows_per_micro_step == 4);
    CHECK(ranks[0].rows_per_micro_step == 2);  // each rank trained on its half of every batch
    CHECK(ranks[1].rows_per_micro_step == 2);
    CHECK(ranks[0].losses == ranks[1].losses);  // the global loss, bit-identical on every rank
    check_same_model(r0, one);
    CHECK(ranks[0].final_eval.targets > 0);   // rank 0 evaluated
    CHECK(ranks[1].final_eval.targets == 0);  // rank 1 did not
    CHECK(fs::exists(r0 / "metrics.jsonl"));
    CHECK(!fs::exists(r1));  // no checkpoint, metrics or config from rank 1
    fs::remove_all(one);
    fs::remove_all(r0);
  }
}

TEST_CASE("rank 0 broadcasts its initial weights: a rank initialised differently trains like rank 0", "[train][dist]") {
  fs::path one = scratch("bcast_one"), r0 = scratch("bcast_rank0"), r1 = scratch("bcast_rank1");
  Trainer(tiny_mqar(one)).run();
  dist::run_in_process(2, [&](dist::Communicator& comm) {
    TrainConfig c = tiny_mqar(comm.rank() == 0 ? r0 : r1);
    if (comm.rank() == 1) c.model.init_std = 0.3;  // other initial weights, the same data stream
    Trainer(c, &comm).run();
  });
  check_same_model(r0, one);
  fs::remove_all(one);
  fs::remove_all(r0);
}

TEST_CASE("a data-parallel run resumed in a shared run directory ends like an uninterrupted single process", "[train][dist]") {
  fs::path one = scratch("resume_one"), shared = scratch("resume_shared");
  TrainConfig c1 = tiny_mqar(one);
  c1.training.steps = 6;
  c1.checkpoint.every = 2;
  Trainer(c1).run();

  auto dp = [&](bool resume, int64_t stop_after) {
    dist::run_in_process(2, [&](dist::Communicator& comm) {
      TrainConfig c = tiny_mqar(shared);
      c.training.steps = 6;
      c.checkpoint.every = 2;
      c.checkpoint.resume = resume;
      Trainer tr(c, &comm);
      tr.stop_after(stop_after);
      tr.run();
    });
  };
  dp(false, 3);  // dies after step 3; the last checkpoint is step 2
  REQUIRE(latest_checkpoint(shared / "checkpoints")->filename() == "step_000002");
  dp(true, 0);
  check_same_model(shared, one);
  fs::remove_all(one);
  fs::remove_all(shared);
}

namespace {

// Passes everything on to another communicator and notes, for each gradient
// bucket launch, whether it came from inside a backward (the engine runs
// with grad mode off; the training loop, where finish() is called, with it on).
class LaunchSpy final : public dist::Communicator {
 public:
  explicit LaunchSpy(dist::Communicator& inner) : inner_(inner) {}
  int rank() const override { return inner_.rank(); }
  int world_size() const override { return inner_.world_size(); }
  std::string backend() const override { return "spy"; }
  void all_reduce(const std::vector<Tensor>& t, dist::ReduceOp op) override { inner_.all_reduce(t, op); }
  void all_reduce_async(const std::vector<Tensor>& t, dist::ReduceOp op) override {
    (GradMode::is_enabled() ? launched_after_backward : launched_in_backward)++;
    inner_.all_reduce_async(t, op);
  }
  void wait_all() override {
    ++waits;
    inner_.wait_all();
  }
  void broadcast(const std::vector<Tensor>& t, int root) override { inner_.broadcast(t, root); }
  void barrier() override { inner_.barrier(); }
  dist::CommStats stats() const override { return inner_.stats(); }

  int64_t launched_in_backward = 0, launched_after_backward = 0, waits = 0;

 private:
  dist::Communicator& inner_;
};

}  // namespace

TEST_CASE("the trainer launches its gradient buckets from inside backward and waits once per step", "[train][dist]") {
  fs::path r0 = scratch("spy0"), r1 = scratch("spy1");
  std::vector<LaunchSpy*> spies(2);
  std::vector<int64_t> in(2), after(2), waits(2);
  std::mutex mu;
  dist::run_in_process(2, [&](dist::Communicator& comm) {
    LaunchSpy spy(comm);
    Trainer(tiny_mqar(comm.rank() == 0 ? r0 : r1, 2), &spy).run();
    std::lock_guard lock(mu);
    in[comm.rank()] = spy.launched_in_backward;
    after[comm.rank()] = spy.launched_after_backward;
    waits[comm.rank()] = spy.waits;
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    // 5 steps of 2 micro-steps, one bucket (a tiny model): launched in the
    // last micro-step's backward; the first micro-step's (no_sync) and
    // finish() launch nothing.
    CHECK(in[r] == 5);
    CHECK(after[r] == 0);
    CHECK(waits[r] == 5);
  }
  fs::remove_all(r0);
}

TEST_CASE("zero1: two ranks with sharded optimizer state train exactly like plain data parallelism", "[train][dist]") {
  fs::path plain0 = scratch("z_plain0"), plain1 = scratch("z_plain1"), zero0 = scratch("z_zero0"), zero1 = scratch("z_zero1");
  std::vector<std::vector<double>> plain_losses(2), zero_losses(2);
  for (bool zero : {false, true}) {
    std::mutex mu;
    dist::run_in_process(2, [&](dist::Communicator& comm) {
      TrainConfig c = tiny_mqar(comm.rank() == 0 ? (zero ? zero0 : plain0) : (zero ? zero1 : plain1));
      c.distributed.zero1 = zero;
      c.checkpoint.every = 2;
      TrainSummary s = Trainer(c, &comm).run();
      std::lock_guard lock(mu);
      (zero ? zero_losses : plain_losses)[static_cast<size_t>(comm.rank())] = s.losses;
    });
  }
  CHECK(zero_losses[0] == plain_losses[0]);  // bit-identical: the same arithmetic on the same numbers
  CHECK(zero_losses[1] == plain_losses[0]);
  // Rank 0 wrote the whole optimizer state, gathered from both ranks.
  Checkpoint cz = load_checkpoint(*latest_checkpoint(zero0 / "checkpoints"));
  Checkpoint cp = load_checkpoint(*latest_checkpoint(plain0 / "checkpoints"));
  REQUIRE(cz.optimizer.size() == cp.optimizer.size());
  for (const auto& [name, t] : cp.optimizer) {
    INFO(name);
    REQUIRE(cz.optimizer.count(name) == 1);
    CHECK(cz.optimizer.at(name).to_vector<double>() == t.to_vector<double>());
  }
  for (const auto& [name, t] : cp.model) {
    INFO(name);
    CHECK(cz.model.at(name).to_vector<float>() == t.to_vector<float>());
  }
  CHECK(!fs::exists(zero1));  // rank 1 wrote nothing
  for (const auto& d : {plain0, zero0}) fs::remove_all(d);
}

TEST_CASE("zero1: a sharded run's checkpoint resumes in one process like an uninterrupted run", "[train][dist]") {
  fs::path one = scratch("z_resume_one"), shared = scratch("z_resume_shared");
  TrainConfig c1 = tiny_mqar(one);
  c1.training.steps = 6;
  c1.checkpoint.every = 2;
  Trainer(c1).run();
  dist::run_in_process(2, [&](dist::Communicator& comm) {
    TrainConfig c = tiny_mqar(shared);
    c.training.steps = 6;
    c.checkpoint.every = 2;
    c.distributed.zero1 = true;
    Trainer tr(c, &comm);
    tr.stop_after(3);  // dies after step 3; the last checkpoint is step 2
    tr.run();
  });
  REQUIRE(latest_checkpoint(shared / "checkpoints")->filename() == "step_000002");
  TrainConfig c = tiny_mqar(shared);
  c.training.steps = 6;
  c.checkpoint.every = 2;
  c.checkpoint.resume = true;
  c.distributed.zero1 = true;  // no effect in one process
  Trainer(c).run();
  check_same_model(shared, one);
  fs::remove_all(one);
  fs::remove_all(shared);
}

TEST_CASE("a data-parallel world size that does not divide the batch is a clear error before anything is written", "[train][dist]") {
  fs::path d = scratch("indivisible");
  LL_CHECK_ERROR(dist::run_in_process(3, [&](dist::Communicator& comm) { Trainer(tiny_mqar(d), &comm).run(); }),
                 "data.batch_size 4 is not a multiple of the data-parallel world size 3");
  CHECK(!fs::exists(d));
}

TEST_CASE("shard_batch weights the ranks' mean losses so that their average is the whole batch's mean", "[train][dist]") {
  // 4 rows of 3 targets over 5 classes; targets ignored unevenly.
  const int64_t B = 4, T = 3, C = 5;
  std::vector<float> lv(static_cast<size_t>(B * T * C));
  for (size_t i = 0; i < lv.size(); ++i) lv[i] = static_cast<float>(std::sin(0.7 * static_cast<double>(i)));
  Tensor logits = Tensor::from_vector(lv, {B, T, C});
  const int64_t I = kIgnoreIndex;
  struct Case {
    std::vector<int64_t> targets;
    std::vector<int64_t> counts;  // per rank of 2
  };
  for (const Case& c : {Case{{0, 1, 2, 3, I, 4, /* rank 1: */ I, I, 1, I, I, I}, {5, 1}},
                        Case{{0, 1, 2, 3, 4, 0, /* rank 1: */ 1, 2, 3, 4, 0, 1}, {6, 6}},
                        Case{{I, I, I, I, I, I, /* rank 1: */ I, 2, I, 3, I, I}, {0, 2}}}) {
    Batch global{Tensor::zeros({B, T}, DType::i64), Tensor::from_vector(c.targets, {B, T})};
    const double whole = cross_entropy(logits, global.targets, kIgnoreIndex).item();
    double avg = 0;
    for (int r = 0; r < 2; ++r) {
      dist::BatchShard shard(r, 2);
      ShardedBatch s = shard_batch(global, shard);
      CHECK(s.batch.targets.size(0) == 2);
      CHECK(s.targets == c.counts[r]);
      CHECK(s.loss_weight == Approx(2.0 * c.counts[r] / (c.counts[0] + c.counts[1])));
      if (s.loss_weight > 0) avg += s.loss_weight * cross_entropy(shard.slice(logits), s.batch.targets, kIgnoreIndex).item() / 2;
    }
    CHECK(avg == Approx(whole).epsilon(1e-6));
  }
}

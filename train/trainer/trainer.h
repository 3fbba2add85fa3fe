// The training loop behind `loglin train`: builds the data, model and
// optimizer from a validated TrainConfig, trains with gradient accumulation,
// clipping and a schedule, evaluates and samples, writes metrics.jsonl and
// checkpoints in the run directory, and resumes from the latest checkpoint
// when checkpoint.resume is set.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nn/models/language_model.h"
#include "train/config/config.h"

namespace loglin {
namespace dist {
class Communicator;
}

struct EvalResult {
  double loss = 0;      // mean cross-entropy per target token (nats)
  double perplexity = 0;
  double bits_per_byte = 0;  // text datasets
  double accuracy = -1;      // MQAR: the mean over the test settings evaluated; -1 for text
  // MQAR: each test setting evaluated ("256x64", its accuracy over its queries), in test_configs order.
  std::vector<std::pair<std::string, double>> accuracy_by_task;
  // With position buckets: ("0-255", the mean loss of the targets at positions
  // 0..255), one per bucket in order; NaN for a bucket without targets.
  std::vector<std::pair<std::string, double>> loss_by_position;
  std::vector<int64_t> targets_by_position;  // the targets each bucket counted
  int64_t targets = 0;
};

struct TrainSummary {
  int64_t steps = 0;           // steps done in all (resumed runs included)
  int64_t tokens = 0;          // training tokens seen in all
  double last_loss = 0;
  std::vector<double> losses;  // the logged loss of each step this process ran (global with a communicator)
  int64_t rows_per_micro_step = 0;  // rows of a batch this process trained on (its shard with a communicator)
  EvalResult final_eval;
  double tokens_per_s = 0;     // this process's steps only
  std::string sample;
  std::string run_dir;
};

// Maps the config's model section to the nn options.
nn::LMOptions lm_options(const ModelConfig& cfg, int64_t vocab_size);

class TrainData;

// Data parallelism (distributed/README.md): with a communicator of world size
// N, every rank runs a Trainer with the same config; the parameters are
// broadcast from rank 0 at the start (after a resume too), each rank trains
// on its BatchShard rows of every global batch (data.batch_size must be a
// multiple of N), the gradients are averaged after the backward of the last
// micro-step (the ones before run under no_sync; each bucket starts as its
// gradients are final, during backward), then clipped, so every rank
// steps identically. The logged loss is the global one. Only rank 0 writes
// into the run directory (config, metrics, checkpoints), logs, evaluates and
// samples; on a resume every rank reads the checkpoint (a shared run_dir).
// With distributed.zero1 each rank keeps the optimizer state of its share of
// the parameters only (train/trainer/sharded_optimizer.h); checkpoints still
// hold the whole state.
// Null (the default): one process, exactly as before.
class Trainer {
 public:
  explicit Trainer(TrainConfig config, dist::Communicator* comm = nullptr);
  ~Trainer();
  TrainSummary run();

  // For tests: stop after this many steps of this process, as if killed
  // (no final checkpoint, no final eval). 0 = run to the end.
  void stop_after(int64_t steps) { stop_after_ = steps; }

 private:
  TrainConfig cfg_;
  dist::Communicator* comm_ = nullptr;
  int64_t stop_after_ = 0;
};

// Mean loss / perplexity / bpb (or MQAR accuracy) of `model` over the first
// `max_batches` validation batches (all when <= 0). With position_buckets
// K > 0, also the mean loss in each of K equal buckets of the positions
// 0 .. data.longest_seq_len() - 1 (bucket b: [b L / K, (b + 1) L / K)).
EvalResult evaluate(const nn::LanguageModel& model, const TrainData& data, int64_t max_batches,
                    int64_t position_buckets = 0);

// The bucket names evaluate uses: "0-255", "256-511", ... (first and last position).
std::vector<std::string> position_bucket_names(int64_t context, int64_t buckets);

// training.device as this build and machine can honour it: auto is cuda:0
// when a GPU answers, else cpu; cuda on a machine without one is an error.
Device resolve_device(const std::string& want);

}  // namespace loglin

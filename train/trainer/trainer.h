// The training loop behind `loglin train`: builds the data, model and
// optimizer from a validated TrainConfig, trains with gradient accumulation,
// clipping and a schedule, evaluates and samples, writes metrics.jsonl and
// checkpoints in the run directory, and resumes from the latest checkpoint
// when checkpoint.resume is set.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "nn/models/language_model.h"
#include "train/config/config.h"

namespace loglin {

struct EvalResult {
  double loss = 0;      // mean cross-entropy per target token (nats)
  double perplexity = 0;
  double bits_per_byte = 0;  // text datasets
  double accuracy = -1;      // MQAR; -1 for text
  int64_t targets = 0;
};

struct TrainSummary {
  int64_t steps = 0;           // steps done in all (resumed runs included)
  int64_t tokens = 0;          // training tokens seen in all
  double last_loss = 0;
  EvalResult final_eval;
  double tokens_per_s = 0;     // this process's steps only
  std::string sample;
  std::string run_dir;
};

// Maps the config's model section to the nn options.
nn::LMOptions lm_options(const ModelConfig& cfg, int64_t vocab_size);

class TrainData;

class Trainer {
 public:
  explicit Trainer(TrainConfig config);
  ~Trainer();
  TrainSummary run();

  // For tests: stop after this many steps of this process, as if killed
  // (no final checkpoint, no final eval). 0 = run to the end.
  void stop_after(int64_t steps) { stop_after_ = steps; }

 private:
  TrainConfig cfg_;
  int64_t stop_after_ = 0;
};

// Mean loss / perplexity / bpb (or MQAR accuracy) of `model` over the first
// `max_batches` validation batches (all when <= 0).
EvalResult evaluate(const nn::LanguageModel& model, const TrainData& data, int64_t max_batches);

// training.device as this build and machine can honour it: auto is cuda:0
// when a GPU answers, else cpu; cuda on a machine without one is an error.
Device resolve_device(const std::string& want);

}  // namespace loglin

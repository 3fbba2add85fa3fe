// Opening a saved run for `loglin eval` and `loglin generate`: a checkpoint
// step directory, or a run directory (its latest checkpoint), gives back the
// config it was trained with and the model with its weights.
#pragma once
#include <memory>
#include <string>

#include "nn/models/language_model.h"
#include "train/checkpoint/checkpoint.h"
#include "train/config/config.h"

namespace loglin {

struct SavedRun {
  TrainConfig config;
  Checkpoint checkpoint;
  std::unique_ptr<nn::LanguageModel> model;  // weights loaded, in eval mode
};

SavedRun open_saved_run(const std::string& path);

// The vocabulary a config's data section implies, without reading the corpus.
int64_t config_vocab_size(const DataConfig& data);

}  // namespace loglin

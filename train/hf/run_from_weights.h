// A run directory whose only checkpoint is step 0 holding given weights:
// what `loglin train` would have saved before its first step had it
// initialised the model to them (a fresh optimizer state, the data and RNG
// positions of training.seed). `loglin eval DIR` evaluates it and `loglin
// train CONFIG --resume` trains on from it. Built under a temporary name
// beside run_dir and renamed into place.
#pragma once
#include <filesystem>

#include "train/checkpoint/safetensors.h"
#include "train/config/config.h"

namespace loglin::hf {

// config.logging.run_dir is the directory to create (it must not exist, or
// be empty); config.data.tokenizer_path, when set, is copied into it as
// tokenizer.txt and the saved config points there.
// Returns the config as saved (with checkpoint.resume: true).
TrainConfig write_run_from_weights(TrainConfig config, int64_t vocab, const TensorMap& weights);

}  // namespace loglin::hf

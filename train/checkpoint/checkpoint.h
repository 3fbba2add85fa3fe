// Training checkpoints: one directory per saved step,
//
//   <dir>/step_000123/model.safetensors      model weights (readable by Python tools)
//   <dir>/step_000123/optimizer.safetensors  optimizer state
//   <dir>/step_000123/state.json             step, metadata, each file's size and FNV-1a 64
//
// A checkpoint is built in a hidden temporary directory and renamed into
// place, so a crash leaves either the whole checkpoint or none of it.
// Loading verifies sizes and checksums before trusting a byte.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "train/checkpoint/safetensors.h"

namespace loglin {

struct Checkpoint {
  std::filesystem::path path;  // the step directory
  int64_t step = 0;
  TensorMap model;
  TensorMap optimizer;
  // Whatever the trainer needs to resume: the config's YAML text, RNG and
  // data positions (see rng_state_to_string), ...
  StringMap metadata;
};

// Writes <dir>/step_<step> (replacing one of the same step), then removes the
// oldest step directories so that at most keep_last remain (keep_last <= 0
// keeps all). Returns the new directory.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, int64_t step, const TensorMap& model,
                                      const TensorMap& optimizer, const StringMap& metadata, int keep_last);

// Loads a step directory, checking every file against state.json.
Checkpoint load_checkpoint(const std::filesystem::path& step_dir);

// The complete step directories under dir, oldest first; latest_checkpoint
// is the last of them, or nullopt when there is none (or no dir).
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir);
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir);

// "step_000123" (at least six digits; more for larger steps).
std::string checkpoint_dir_name(int64_t step);

// A Generator's exact state as text for checkpoint metadata, and back.
std::string rng_state_to_string(const Generator::State& s);
Generator::State rng_state_from_string(const std::string& text);

}  // namespace loglin

// `loglin import`: a directory in a public twin's layout (or loglin's own,
// model_type "loglin") back into a loglin config and state dict. Every
// config.json field loglin's layer cannot express is an error naming the
// key; every tensor missing, extra, of another shape or dtype is an error
// naming the tensor. Nothing is written here (see run_from_weights.h).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "train/checkpoint/safetensors.h"
#include "train/config/config.h"

namespace loglin::hf {

struct ImportedModel {
  TrainConfig config;    // model section from config.json; the rest from its loglin_config, else defaults
  TensorMap model;       // loglin names, f32, ready for load_state_dict
  int64_t vocab = 0;
  std::string model_type;
  std::filesystem::path tokenizer;  // the directory's loglin_tokenizer.txt, or empty
};

// overrides: --set a.b=c, applied last (the model keys config.json fixed
// may not be overridden).
ImportedModel import_model(const std::filesystem::path& dir, const std::vector<std::string>& overrides = {});

}  // namespace loglin::hf

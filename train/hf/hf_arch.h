// One entry per loglin architecture: its public twin (the Hugging Face
// model_type and class), when a model of that architecture maps onto it
// exactly, its config.json, and the tensor table (hf_layout.h). The maps
// themselves live one file per family: hf_llama.cpp (transformer),
// hf_mamba2.cpp (mamba2, loglinear_mamba2), hf_gated_deltanet.cpp
// (gated_deltanet; loglinear_gated_deltanet has no twin).
#pragma once
#include <string>
#include <vector>

#include "train/checkpoint/json.h"
#include "train/config/config.h"
#include "train/hf/hf_json.h"
#include "train/hf/hf_layout.h"

namespace loglin::hf {

struct ArchMap {
  std::string loglin_arch;  // model.arch
  std::string model_type;   // config.json model_type; "" when there is no public twin
  std::string hf_class;     // config.json architectures[0]
  std::string implementation;  // who defines the class, for messages and docs
  // Why a model of this config has no exact twin; "" when it has one.
  std::string (*twin_problem)(const ModelConfig& m) = nullptr;
  // config.json's model fields (the exporter adds vocab_size, torch_dtype,
  // tie_word_embeddings, architectures, model_type and loglin_config).
  json::Value::Object (*config)(const ModelConfig& m) = nullptr;
  // The loglin model a config.json describes, after checking every field
  // loglin's layer cannot express; `base` supplies what config.json does not.
  ModelConfig (*model_config)(const ConfigReader& c, ModelConfig base) = nullptr;
  Layout (*layout)(const ModelConfig& m, int64_t vocab) = nullptr;
};

// The families' entries (one file each).
ArchMap llama_map();
ArchMap mamba2_map();
ArchMap loglinear_mamba2_map();
ArchMap gated_deltanet_map();
ArchMap loglinear_gated_deltanet_map();

// By loglin arch, or by config.json's model_type (error when unknown).
const ArchMap& arch_by_loglin_name(const std::string& arch);
const ArchMap& arch_by_model_type(const std::string& model_type, const std::string& where);

// The lm_head rows: "lm_head.weight" from loglin's lm_head, or a copy of
// the embedding when tied (`with_tied_copy`), or nothing when tied and not.
void add_lm_head(Layout& l, const ModelConfig& m, int64_t vocab, bool with_tied_copy);

// A tensor copied whole: loglin name -> HF name, HF shape (a reshape at most).
HfTensor whole(const std::string& hf, const std::string& loglin, Shape hf_shape);

}  // namespace loglin::hf

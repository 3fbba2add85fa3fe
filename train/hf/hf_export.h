// `loglin export --hf`: a saved model in the directory layout of its public
// twin (config.json, model.safetensors, loglin_tokenizer.txt), or, with
// Layout::loglin, in loglin's own layout (model_type "loglin", loglin's
// parameter names). The directory is built beside OUT_DIR under a temporary
// name and renamed into place, so a failure leaves nothing behind.
#pragma once
#include <filesystem>
#include <string>

#include "train/checkpoint/safetensors.h"
#include "train/config/config.h"
#include "train/tokenizer/tokenizer.h"

namespace loglin::hf {

enum class ExportLayout { hf, loglin };

// "hf" or "loglin" (the --layout flag); anything else is an error.
ExportLayout parse_export_layout(const std::string& name);

struct ExportResult {
  std::string model_type, hf_class;  // what config.json names
  size_t tensors = 0;
};

// config: the run's config (model.vocab_size may be 0); vocab: the model's
// vocabulary; model: its state dict; tokenizer: written beside it (may be
// null, e.g. MQAR). out_dir must not exist or be an empty directory.
ExportResult export_model(const TrainConfig& config, int64_t vocab, const TensorMap& model, const Tokenizer* tokenizer,
                          const std::filesystem::path& out_dir, ExportLayout layout);

// The name of the tokenizer file in an exported directory.
inline constexpr const char* kTokenizerFile = "loglin_tokenizer.txt";

}  // namespace loglin::hf

// The file `loglin export --logits-check FILE` writes for
// scripts/hf_logits_check.py: fixed token ids and the logits the loglin
// model gives them, as safetensors ("tokens" I64 [B, T], "logits" F32
// [B, T, vocab]) with the export's model_type and class in the metadata.
#pragma once
#include <filesystem>
#include <string>

#include "nn/models/language_model.h"
#include "train/checkpoint/safetensors.h"

namespace loglin::hf {

// batch x length ids drawn uniformly from [0, vocab) with `seed`.
Tensor check_tokens(int64_t vocab, int64_t batch, int64_t length, uint64_t seed);

// Runs the model (in eval mode, no gradients, f32) on tokens and writes the
// file atomically; `metadata` is added to the file's.
void write_logits_check(const nn::LanguageModel& model, const Tensor& tokens, const std::filesystem::path& path,
                        const StringMap& metadata);

}  // namespace loglin::hf

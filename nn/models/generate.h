// Sampling from a language model with its recurrent/cached decoding path.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "nn/models/language_model.h"

namespace loglin::nn {

struct SamplingOptions {
  double temperature = 0.8;  // 0 = greedy
  int64_t top_k = 40;        // 0 = whole vocabulary
};

// One token id from a row of logits [vocab].
int64_t sample_token(const Tensor& logits, const SamplingOptions& options, Generator& gen);

// Feeds `prompt` (at least one id) through the model, then samples
// `n_tokens` more, one decoding step each. Returns only the new ids.
std::vector<int32_t> generate(const LanguageModel& model, const std::vector<int32_t>& prompt, int64_t n_tokens,
                              const SamplingOptions& options, Generator& gen);

}  // namespace loglin::nn

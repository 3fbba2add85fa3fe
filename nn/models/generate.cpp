#include "nn/models/generate.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"

namespace loglin::nn {

int64_t sample_token(const Tensor& logits, const SamplingOptions& o, Generator& gen) {
  LOGLIN_CHECK(logits.dim() == 1, "[generate] logits must be [vocab], got {}", shape_str(logits.shape()));
  std::vector<double> l = logits.to_vector<double>();
  const int64_t V = static_cast<int64_t>(l.size());
  if (o.temperature <= 0) return std::max_element(l.begin(), l.end()) - l.begin();
  std::vector<int64_t> idx(V);
  for (int64_t i = 0; i < V; ++i) idx[i] = i;
  int64_t k = (o.top_k > 0 && o.top_k < V) ? o.top_k : V;
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) { return l[a] > l[b]; });
  double mx = l[idx[0]], total = 0;
  std::vector<double> p(k);
  for (int64_t i = 0; i < k; ++i) total += p[i] = std::exp((l[idx[i]] - mx) / o.temperature);
  double u = gen.uniform() * total;
  for (int64_t i = 0; i < k; ++i) {
    u -= p[i];
    if (u <= 0) return idx[i];
  }
  return idx[k - 1];
}

std::vector<int32_t> generate(const LanguageModel& model, const std::vector<int32_t>& prompt, int64_t n_tokens,
                              const SamplingOptions& o, Generator& gen) {
  LOGLIN_CHECK(!prompt.empty(), "[generate] the prompt needs at least one token");
  const int64_t room = model.options.max_seq_len() - static_cast<int64_t>(prompt.size());
  LOGLIN_CHECK(room >= n_tokens, "[generate] prompt of {} tokens + {} new exceeds max_seq_len {}", prompt.size(),
               n_tokens, model.options.max_seq_len());
  NoGradGuard no_grad;
  LMState state = model.initial_state(1);
  Tensor logits = model.step(Tensor::from_vector(prompt, {1, static_cast<int64_t>(prompt.size())}), state);
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n_tokens; ++i) {
    int32_t id = static_cast<int32_t>(sample_token(logits.select(0, 0), o, gen));
    out.push_back(id);
    if (i + 1 < n_tokens) logits = model.step(Tensor::from_vector(std::vector<int32_t>{id}, {1, 1}), state);
  }
  return out;
}

}  // namespace loglin::nn

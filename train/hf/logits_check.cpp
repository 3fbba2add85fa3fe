#include "train/hf/logits_check.h"

#include <vector>

#include "autograd/grad_mode.h"
#include "core/rng.h"

namespace loglin::hf {

Tensor check_tokens(int64_t vocab, int64_t batch, int64_t length, uint64_t seed) {
  Generator gen(seed);
  std::vector<int64_t> ids(static_cast<size_t>(batch * length));
  for (auto& id : ids) id = std::min<int64_t>(vocab - 1, static_cast<int64_t>(gen.uniform() * double(vocab)));
  return Tensor::from_vector(ids, {batch, length});
}

void write_logits_check(const nn::LanguageModel& model, const Tensor& tokens, const std::filesystem::path& path,
                        const StringMap& metadata) {
  NoGradGuard no_grad;
  const Tensor logits = model.forward(tokens).to(Device::cpu());
  StringMap meta = metadata;
  meta["format"] = "pt";
  save_safetensors(path, {{"tokens", tokens}, {"logits", logits}}, meta);
}

}  // namespace loglin::hf

#include "train/hf/hf_arch.h"

#include "core/error.h"

namespace loglin::hf {
namespace {

const std::vector<ArchMap>& all_maps() {
  static const std::vector<ArchMap> maps{llama_map(), mamba2_map(), loglinear_mamba2_map(), gated_deltanet_map(),
                                         loglinear_gated_deltanet_map()};
  return maps;
}

}  // namespace

const ArchMap& arch_by_loglin_name(const std::string& arch) {
  for (const ArchMap& m : all_maps())
    if (m.loglin_arch == arch) return m;
  LOGLIN_FAIL("[export] no map for model.arch '{}'", arch);
}

const ArchMap& arch_by_model_type(const std::string& model_type, const std::string& where) {
  std::string known;
  for (const ArchMap& m : all_maps()) {
    if (m.model_type.empty()) continue;
    if (m.model_type == model_type) return m;
    known += (known.empty() ? "" : ", ") + m.model_type;
  }
  LOGLIN_FAIL("[import] {}: model_type '{}' is not one loglin reads (known: {}, and loglin for its own layout)", where,
              model_type, known);
}

HfTensor whole(const std::string& hf, const std::string& loglin, Shape hf_shape) {
  int64_t n = 1;
  for (int64_t d : hf_shape) n *= d;
  HfTensor t;
  t.name = hf;
  t.shape = std::move(hf_shape);
  t.width = 1;
  t.copies.push_back({loglin, 0, 0, n});
  return t;
}

void add_lm_head(Layout& l, const ModelConfig& m, int64_t vocab, bool with_tied_copy) {
  if (!m.tie_embeddings) {
    l.tensors.push_back(whole("lm_head.weight", "lm_head.weight", {vocab, m.d_model}));
  } else if (with_tied_copy) {
    HfTensor t = whole("lm_head.weight", "embed.weight", {vocab, m.d_model});
    t.duplicate = true;
    l.tensors.push_back(std::move(t));
  }
}

}  // namespace loglin::hf

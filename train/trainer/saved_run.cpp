#include "train/trainer/saved_run.h"

#include <filesystem>

#include "train/tokenizer/tokenizer.h"
#include "train/trainer/trainer.h"

namespace loglin {
namespace fs = std::filesystem;

int64_t config_vocab_size(const DataConfig& data) {
  if (data.dataset == "mqar") return data.mqar.vocab_size;
  return make_tokenizer(data.tokenizer, data.tokenizer_path)->vocab_size();
}

SavedRun open_saved_run(const std::string& path) {
  fs::path p(path);
  LOGLIN_CHECK(fs::exists(p), "[checkpoint] {} does not exist", path);
  if (!fs::exists(p / "state.json")) {
    // A run directory: take its newest checkpoint.
    auto latest = latest_checkpoint(fs::exists(p / "checkpoints") ? p / "checkpoints" : p);
    LOGLIN_CHECK(latest.has_value(), "[checkpoint] {} holds no checkpoint (expected a step_NNNNNN directory or a run "
                                     "directory with checkpoints/)", path);
    p = *latest;
  }
  SavedRun run;
  run.checkpoint = load_checkpoint(p);
  auto it = run.checkpoint.metadata.find("config");
  LOGLIN_CHECK(it != run.checkpoint.metadata.end(), "[checkpoint] {} has no config in its metadata", p.string());
  run.config = parse_config(it->second, (p / "state.json").string());
  run.model = std::make_unique<nn::LanguageModel>(lm_options(run.config.model, config_vocab_size(run.config.data)));
  run.model->load_state_dict(run.checkpoint.model);
  run.model->to(resolve_device(run.config.training.device));
  run.model->eval();
  return run;
}

}  // namespace loglin

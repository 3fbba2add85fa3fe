#include "train/hf/run_from_weights.h"

#include <unistd.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "train/checkpoint/checkpoint.h"
#include "train/checkpoint/file_io.h"
#include "train/data/batch.h"
#include "train/optim/optimizer.h"
#include "train/trainer/trainer.h"

namespace loglin::hf {
namespace fs = std::filesystem;

TrainConfig write_run_from_weights(TrainConfig cfg, int64_t vocab, const TensorMap& weights) {
  const fs::path run_dir = cfg.logging.run_dir;
  std::error_code ec;
  LOGLIN_CHECK(!fs::exists(run_dir) || (fs::is_directory(run_dir) && fs::is_empty(run_dir, ec)),
               "[import] run directory {} already exists and is not empty; choose another --run-dir",
               run_dir.string());
  cfg.checkpoint.resume = true;
  const fs::path tokenizer_src = cfg.data.tokenizer_path;
  if (!tokenizer_src.empty()) cfg.data.tokenizer_path = (run_dir / "tokenizer.txt").string();

  // The trainer's generators as they stand before step 1: the model's after
  // initialising the weights (then replaced), the data's and the sampler's
  // untouched (train/trainer/trainer.cpp).
  const uint64_t seed = static_cast<uint64_t>(cfg.training.seed);
  Generator model_gen(seed);
  nn::LanguageModel model(lm_options(cfg.model, vocab), model_gen);
  model.load_state_dict(weights);
  const Generator data_gen(seed + 1), sample_gen(seed + 2);
  auto groups = optim::decay_groups(model.named_parameters(), cfg.optimizer.weight_decay,
                                    cfg.optimizer.decay_embeddings);
  std::unique_ptr<optim::Optimizer> opt;
  if (cfg.optimizer.name == "sgd") opt = std::make_unique<optim::SGD>(std::move(groups), cfg.optimizer.momentum);
  else opt = std::make_unique<optim::AdamW>(std::move(groups), optim::AdamWOptions{cfg.optimizer.beta1,
                                                                                   cfg.optimizer.beta2,
                                                                                   cfg.optimizer.eps});
  StringMap meta;
  meta["config"] = to_yaml(cfg);
  meta["data_position"] = DataPosition{data_gen.state(), 0}.to_string();
  meta["model_rng"] = rng_state_to_string(model_gen.state());
  meta["sample_rng"] = rng_state_to_string(sample_gen.state());
  meta["tokens"] = std::to_string(0);  // tokens trained so far (as the trainer writes it)

  const fs::path parent = run_dir.parent_path().empty() ? fs::path(".") : run_dir.parent_path();
  fs::create_directories(parent, ec);
  LOGLIN_CHECK(!ec, "[import] cannot create {}: {}", parent.string(), ec.message());
  const fs::path tmp = parent / fmt::format(".tmp_import_{}.{}", run_dir.filename().string(), ::getpid());
  fs::remove_all(tmp, ec);
  try {
    fs::create_directory(tmp);
    save_checkpoint(tmp / "checkpoints", 0, model.state_dict(), opt->state_dict(), meta, 0);
    io::write_file_atomic(tmp / "config.yaml", to_yaml(cfg));
    if (!tokenizer_src.empty()) io::write_file_atomic(tmp / "tokenizer.txt", io::read_file(tokenizer_src));
    io::sync_dir(tmp);
    if (fs::exists(run_dir)) fs::remove(run_dir);  // empty, checked above
    fs::rename(tmp, run_dir);
    io::sync_dir(parent);
  } catch (const fs::filesystem_error& e) {
    fs::remove_all(tmp, ec);
    LOGLIN_FAIL("[import] cannot write {}: {}", run_dir.string(), e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  return cfg;
}

}  // namespace loglin::hf

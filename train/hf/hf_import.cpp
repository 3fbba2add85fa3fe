#include "train/hf/hf_import.h"

#include "core/error.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "train/checkpoint/file_io.h"
#include "train/hf/hf_arch.h"
#include "train/hf/hf_export.h"
#include "train/tokenizer/tokenizer.h"
#include "train/trainer/trainer.h"

namespace loglin::hf {
namespace fs = std::filesystem;
namespace {

DType dtype_of(const ConfigReader& c) {
  // transformers 4 writes torch_dtype, 5 writes dtype.
  const std::string name = c.get_string("torch_dtype", c.get_string("dtype", "float32"));
  if (name == "float32") return DType::f32;
  if (name == "bfloat16") return DType::bf16;
  LOGLIN_FAIL("[import] {}: torch_dtype '{}' is not one loglin reads (float32 or bfloat16)", c.where(), name);
}

// model.safetensors, or the shards a model.safetensors.index.json lists.
TensorMap load_weights(const fs::path& dir) {
  const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
  if (fs::exists(single)) return load_safetensors(single).tensors;
  LOGLIN_CHECK(fs::exists(index), "[import] {} has neither model.safetensors nor model.safetensors.index.json",
               dir.string());
  const json::Value idx = json::Value::parse(io::read_file(index), "[import] " + index.string());
  LOGLIN_CHECK(idx.contains("weight_map") && idx.at("weight_map").is_object(), "[import] {}: no weight_map object",
               index.string());
  std::set<std::string> files;
  for (const auto& [name, file] : idx.at("weight_map").as_object()) {
    LOGLIN_CHECK(file.is_string(), "[import] {}: weight_map['{}'] is not a file name", index.string(), name);
    files.insert(file.as_string());
  }
  TensorMap all;
  for (const std::string& f : files)
    for (auto& [name, t] : load_safetensors(dir / f).tensors)
      LOGLIN_CHECK(all.emplace(name, t).second, "[import] {}: tensor '{}' is in two shards", dir.string(), name);
  return all;
}

}  // namespace

ImportedModel import_model(const fs::path& dir, const std::vector<std::string>& overrides) {
  LOGLIN_CHECK(fs::is_directory(dir), "[import] {} is not a directory", dir.string());
  const fs::path cfg_path = dir / "config.json";
  LOGLIN_CHECK(fs::exists(cfg_path), "[import] {} has no config.json", dir.string());
  const ConfigReader c(json::Value::parse(io::read_file(cfg_path), "[import] " + cfg_path.string()),
                       cfg_path.string());
  ImportedModel out;
  out.model_type = c.get_string("model_type", "");
  LOGLIN_CHECK(!out.model_type.empty(), "[import] {}: model_type is missing", c.where());

  // The base: what a loglin export recorded, else loglin's defaults.
  TrainConfig cfg;
  const std::string recorded = c.get_string("loglin_config", "");
  const std::string recorded_name = cfg_path.string() + " (loglin_config)";
  if (!recorded.empty()) cfg = parse_config(recorded, recorded_name);
  out.vocab = c.get_int("vocab_size");
  LOGLIN_CHECK(out.vocab > 0, "[import] {}: vocab_size {} must be positive", c.where(), out.vocab);

  Layout layout;
  if (out.model_type == "loglin") {
    LOGLIN_CHECK(!recorded.empty(), "[import] {}: model_type loglin needs its loglin_config", c.where());
    LOGLIN_CHECK(c.get_string("loglin_arch", "") == cfg.model.arch,
                 "[import] {}: loglin_arch '{}' differs from loglin_config's model.arch '{}'", c.where(),
                 c.get_string("loglin_arch", ""), cfg.model.arch);
  } else {
    const ArchMap& arch = arch_by_model_type(out.model_type, c.where());
    cfg.model = arch.model_config(c, cfg.model);
  }
  cfg.model.vocab_size = static_cast<int>(out.vocab);
  cfg.model.tie_embeddings = c.get_bool("tie_word_embeddings", false);
  if (fs::exists(dir / kTokenizerFile)) {  // the text side goes with the model
    out.tokenizer = dir / kTokenizerFile;
    const std::string kind = load_tokenizer(out.tokenizer.string())->name();
    cfg.data.tokenizer = kind;
    cfg.data.tokenizer_path = kind == "byte" ? "" : out.tokenizer.string();
  }

  // Validate the whole config (and apply --set) through loglin's own checks.
  ModelConfig fixed = cfg.model;
  cfg = parse_config(to_yaml(cfg), cfg_path.string(), overrides);
  // Keys that shape no parameter may change; the rest config.json fixes.
  fixed.chunk_size = cfg.model.chunk_size;
  fixed.dropout = cfg.model.dropout;
  fixed.init_std = cfg.model.init_std;
  LOGLIN_CHECK(cfg.model == fixed, "[import] --set may change only model.chunk_size, model.dropout and "
                                   "model.init_std of the model section: config.json fixes the rest");
  out.config = cfg;

  // The model this config builds gives the names and shapes to fill.
  Generator gen(0);
  nn::LanguageModel shapes(lm_options(cfg.model, out.vocab), gen);
  const TensorMap want = shapes.state_dict();
  layout = out.model_type == "loglin" ? identity_layout(want) : arch_by_loglin_name(cfg.model.arch).layout(cfg.model, out.vocab);
  out.model = from_hf(layout, load_weights(dir), want, dtype_of(c), (dir / "model.safetensors").string());
  return out;
}

}  // namespace loglin::hf

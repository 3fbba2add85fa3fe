#include "train/hf/hf_export.h"

#include <unistd.h>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/hf/hf_arch.h"
#include "train/hf/hf_tokenizer.h"

namespace loglin::hf {
namespace fs = std::filesystem;

ExportLayout parse_export_layout(const std::string& name) {
  if (name == "hf") return ExportLayout::hf;
  if (name == "loglin") return ExportLayout::loglin;
  LOGLIN_FAIL("[export] --layout must be hf or loglin, got '{}'", name);
}

namespace {

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

}  // namespace

ExportResult export_model(const TrainConfig& config, int64_t vocab, const TensorMap& model, const Tokenizer* tokenizer,
                          const fs::path& out_dir, ExportLayout layout) {
  const ModelConfig& m = config.model;
  const ArchMap& arch = arch_by_loglin_name(m.arch);
  if (layout == ExportLayout::hf) {
    const std::string why = arch.twin_problem(m);
    LOGLIN_CHECK(why.empty(), "[export] model.arch {} has no exact public twin for this model: {}. Pass --layout "
                              "loglin to write loglin's own layout instead",
                 m.arch, why);
  }
  std::error_code ec;
  LOGLIN_CHECK(!fs::exists(out_dir) || (fs::is_directory(out_dir) && fs::is_empty(out_dir, ec)),
               "[export] {} already exists and is not an empty directory; choose another output directory",
               out_dir.string());

  // What config.json says, and the tensors under their names there.
  TrainConfig recorded = config;
  recorded.model.vocab_size = static_cast<int>(vocab);
  json::Value::Object cfg;
  ExportResult r;
  TensorMap tensors;
  if (layout == ExportLayout::hf) {
    cfg = arch.config(m);
    r.model_type = arch.model_type;
    r.hf_class = arch.hf_class;
    tensors = to_hf(arch.layout(m, vocab), model);
  } else {
    r.model_type = "loglin";
    r.hf_class = "LoglinForCausalLM";
    cfg.emplace("loglin_arch", m.arch);
    tensors = to_hf(identity_layout(model), model);
  }
  cfg.emplace("architectures", json::Value::Array{json::Value(r.hf_class)});
  cfg.emplace("model_type", r.model_type);
  cfg.emplace("vocab_size", vocab);
  cfg.emplace("tie_word_embeddings", m.tie_embeddings);
  cfg.emplace("torch_dtype", "float32");
  // Everything config.json's own fields do not say (data, training,
  // loglin-only model keys such as chunk_size), for `loglin import`.
  cfg.emplace("loglin_config", to_yaml(recorded));
  r.tensors = tensors.size();

  fs::path parent = out_dir.parent_path().empty() ? fs::path(".") : out_dir.parent_path();
  fs::create_directories(parent, ec);
  LOGLIN_CHECK(!ec, "[export] cannot create {}: {}", parent.string(), ec.message());
  const fs::path tmp = parent / fmt::format(".tmp_export_{}.{}", out_dir.filename().string(), ::getpid());
  remove_quietly(tmp);
  try {
    fs::create_directory(tmp);
    // transformers refuses safetensors files without format "pt" in the metadata.
    save_safetensors(tmp / "model.safetensors", tensors, {{"format", "pt"}});
    io::write_file_atomic(tmp / "config.json", dump_config(cfg));
    if (tokenizer) tokenizer->save((tmp / kTokenizerFile).string());
    if (tokenizer && tokenizer->name() == "byte") {  // exact as a tokenizers file too (hf_tokenizer.h)
      io::write_file_atomic(tmp / "tokenizer.json", byte_tokenizer_json());
      io::write_file_atomic(tmp / "tokenizer_config.json", byte_tokenizer_config_json(m.max_seq_len));
    }
    io::sync_dir(tmp);
    if (fs::exists(out_dir)) fs::remove(out_dir);  // empty, checked above
    fs::rename(tmp, out_dir);
    io::sync_dir(parent);
  } catch (const fs::filesystem_error& e) {
    remove_quietly(tmp);
    LOGLIN_FAIL("[export] cannot write {}: {}", out_dir.string(), e.what());
  } catch (...) {
    remove_quietly(tmp);
    throw;
  }
  return r;
}

}  // namespace loglin::hf

// Hugging Face export and import (train/hf/): for every architecture an
// export -> import round trip gives back bit-identical parameters and
// identical logits, in the public twin's layout where there is one and in
// loglin's own; the names and shapes the twins expect; a run directory made
// from imported weights trains on exactly as the trainer would have; and
// bad input (no twin, missing / extra / misshapen / mistyped tensors,
// config fields loglin cannot express) is a clear error that writes nothing.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "catch.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "ops/ops.h"
#include "test_util.h"
#include "train/checkpoint/checkpoint.h"
#include "train/checkpoint/file_io.h"
#include "train/checkpoint/json.h"
#include "train/hf/hf_export.h"
#include "train/hf/hf_import.h"
#include "train/hf/logits_check.h"
#include "train/hf/run_from_weights.h"
#include "train/tokenizer/bpe_tokenizer.h"
#include "train/tokenizer/tokenizer.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;
using loglin_test::contains;
using loglin_test::error_message;
using loglin_test::TempDir;

namespace {

constexpr int64_t kVocab = 16;

// A small MQAR run config (MQAR needs no files) of one architecture.
TrainConfig tiny(const std::string& arch, const std::string& model_extra = "") {
  std::string yaml = "model: {arch: " + arch +
                     ", d_model: 16, n_layers: 2, n_heads: 2, head_dim: 8, d_state: 8, chunk_size: 8, "
                     "max_seq_len: 32" +
                     model_extra + R"(}
data: {dataset: mqar, batch_size: 4, mqar: {num_pairs: 2, vocab_size: 16, seq_len: 16, train_examples: 64, val_examples: 16}}
schedule: {warmup_steps: 2}
training: {steps: 4, eval_every: 2, eval_batches: 1, seed: 3, device: cpu, sample_tokens: 0}
checkpoint: {every: 2}
logging: {progress: off}
)";
  return parse_config(yaml, "tiny_" + arch);
}

// The extra model keys that give each architecture an exact twin.
std::string twin_keys(const std::string& arch) {
  if (arch == "mamba2") return ", mlp: false";
  if (arch == "loglinear_mamba2") return ", mlp_hidden: 256";  // fla's width for d_model 16
  return "";
}

// A model with every parameter random (norm weights, D and Lambda too), so
// that a row put in the wrong place cannot go unnoticed.
std::unique_ptr<nn::LanguageModel> random_model(const TrainConfig& cfg, uint64_t seed) {
  Generator gen(seed);
  auto m = std::make_unique<nn::LanguageModel>(lm_options(cfg.model, kVocab), gen);
  TensorMap sd = m->state_dict();
  for (auto& [name, t] : sd) t = add(mul(randn(t.shape(), DType::f32, gen), 0.3), 0.5);
  m->load_state_dict(sd);
  m->eval();
  return m;
}

Tensor logits_of(const nn::LanguageModel& m) {
  NoGradGuard no_grad;
  return m.forward(hf::check_tokens(kVocab, 2, 19, 5));  // 19: not a multiple of the chunk
}

void require_same_tensors(const TensorMap& a, const TensorMap& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name) == 1);
    REQUIRE(b.at(name).shape() == t.shape());
    CHECK(b.at(name).to_vector<float>() == t.to_vector<float>());
  }
}

// Export, import, and compare parameters and logits exactly.
void round_trip(const TrainConfig& cfg, hf::ExportLayout layout, const std::string& want_type) {
  TempDir tmp("hf_round_trip");
  auto model = random_model(cfg, 11);
  const fs::path out = tmp.path / "export";
  const hf::ExportResult r = hf::export_model(cfg, kVocab, model->state_dict(), nullptr, out, layout);
  CHECK(r.model_type == want_type);
  REQUIRE(fs::exists(out / "config.json"));
  REQUIRE(fs::exists(out / "model.safetensors"));
  CHECK(load_safetensors(out / "model.safetensors").metadata.at("format") == "pt");

  hf::ImportedModel back = hf::import_model(out);
  CHECK(back.model_type == want_type);
  CHECK(back.vocab == kVocab);
  // Every model key comes back (the MLP width resolved, the vocabulary explicit).
  ModelConfig want = cfg.model, got = back.config.model;
  want.vocab_size = kVocab;
  want.mlp_hidden = want.resolved_mlp_hidden();
  got.mlp_hidden = got.resolved_mlp_hidden();
  auto yaml_of = [](const ModelConfig& m) {
    TrainConfig t;
    t.model = m;
    return to_yaml(t);
  };
  CHECK(yaml_of(got) == yaml_of(want));
  CHECK(back.config.data == cfg.data);
  CHECK(back.config.training == cfg.training);
  require_same_tensors(model->state_dict(), back.model);

  Generator gen(99);  // other weights, then the imported ones
  nn::LanguageModel again(lm_options(back.config.model, back.vocab), gen);
  again.load_state_dict(back.model);
  again.eval();
  const Tensor a = logits_of(*model), b = logits_of(again);
  REQUIRE(a.shape() == b.shape());
  CHECK(a.to_vector<float>() == b.to_vector<float>());
}

const std::vector<std::string> kArchs{"transformer", "mamba2", "loglinear_mamba2", "gated_deltanet",
                                      "loglinear_gated_deltanet"};

TensorMap hf_tensors(const fs::path& dir) { return load_safetensors(dir / "model.safetensors").tensors; }

void rewrite_tensors(const fs::path& dir, const TensorMap& t) {
  save_safetensors(dir / "model.safetensors", t, {{"format", "pt"}});
}

// Replaces `"key": old` in config.json by `"key": value`.
void set_config_field(const fs::path& dir, const std::string& key, const std::string& value) {
  json::Value root = json::Value::parse(io::read_file(dir / "config.json"));
  root.as_object()[key] = json::Value::parse(value);
  io::write_file_atomic(dir / "config.json", root.dump());
}

}  // namespace

TEST_CASE("hf: every architecture with a twin round-trips exactly through the twin's layout", "[train][hf]") {
  const std::vector<std::pair<std::string, std::string>> twins{{"transformer", "llama"},
                                                               {"mamba2", "mamba2"},
                                                               {"loglinear_mamba2", "log_linear_mamba2"},
                                                               {"gated_deltanet", "gated_deltanet"}};
  for (const auto& [arch, type] : twins) {
    INFO(arch);
    round_trip(tiny(arch, twin_keys(arch)), hf::ExportLayout::hf, type);  // tied embeddings
    round_trip(tiny(arch, twin_keys(arch) + ", tie_embeddings: false"), hf::ExportLayout::hf, type);
  }
}

TEST_CASE("hf: every architecture round-trips exactly through loglin's own layout", "[train][hf]") {
  for (const std::string& arch : kArchs) {
    INFO(arch);
    round_trip(tiny(arch), hf::ExportLayout::loglin, "loglin");
    round_trip(tiny(arch, ", tie_embeddings: false, dropout: 0.1"), hf::ExportLayout::loglin, "loglin");
  }
}

TEST_CASE("hf: exported tensors carry the twins' names and shapes", "[train][hf]") {
  TempDir tmp("hf_names");
  SECTION("Llama: q, k, v are the rows of loglin's fused qkv") {
    const TrainConfig cfg = tiny("transformer");
    auto m = random_model(cfg, 1);
    hf::export_model(cfg, kVocab, m->state_dict(), nullptr, tmp.path / "x", hf::ExportLayout::hf);
    const TensorMap t = hf_tensors(tmp.path / "x");
    const Tensor qkv = m->state_dict().at("blocks.1.mixer.qkv.weight");
    CHECK(t.at("model.layers.1.self_attn.k_proj.weight").to_vector<float>() ==
          qkv.narrow(0, 16, 16).contiguous().to_vector<float>());
    CHECK(t.count("model.embed_tokens.weight") == 1);
    CHECK(t.count("lm_head.weight") == 0);  // tied: Llama's own checkpoints leave it out
    CHECK(t.at("model.layers.0.mlp.down_proj.weight").shape() == Shape{16, 64});
    CHECK(t.count("model.layers.1.post_attention_layernorm.weight") == 1);
    const json::Value c = json::Value::parse(io::read_file(tmp.path / "x" / "config.json"));
    CHECK(c.at("model_type").as_string() == "llama");
    CHECK(c.at("architectures").as_array()[0].as_string() == "LlamaForCausalLM");
    CHECK(c.at("num_key_value_heads").as_int() == 2);
    CHECK(c.at("intermediate_size").as_int() == 64);
    CHECK(c.at("rms_norm_eps").as_double() == 1e-5);
    CHECK(c.at("rope_theta").as_double() == 10000.0);
    CHECK(c.at("tie_word_embeddings").as_bool());
    CHECK(c.at("torch_dtype").as_string() == "float32");
  }
  SECTION("Gated DeltaNet: the fused in_proj and conv split into fla's projections") {
    const TrainConfig cfg = tiny("gated_deltanet");  // H 2, K 8, V 16
    auto m = random_model(cfg, 2);
    hf::export_model(cfg, kVocab, m->state_dict(), nullptr, tmp.path / "g", hf::ExportLayout::hf);
    const TensorMap t = hf_tensors(tmp.path / "g");
    const Tensor in = m->state_dict().at("blocks.0.mixer.in_proj.weight");  // [q16 k16 v32 z32 a2 b2]
    CHECK(t.at("model.layers.0.attn.v_proj.weight").shape() == Shape{32, 16});
    CHECK(t.at("model.layers.0.attn.g_proj.weight").to_vector<float>() ==
          in.narrow(0, 64, 32).contiguous().to_vector<float>());
    CHECK(t.at("model.layers.0.attn.b_proj.weight").to_vector<float>() ==
          in.narrow(0, 98, 2).contiguous().to_vector<float>());
    CHECK(t.at("model.layers.0.attn.k_conv1d.weight").shape() == Shape{16, 1, 4});
    const Tensor conv = m->state_dict().at("blocks.0.mixer.conv.weight");  // [q16 k16 v32, 4]
    CHECK(t.at("model.layers.0.attn.v_conv1d.weight").to_vector<float>() ==
          conv.narrow(0, 32, 32).contiguous().to_vector<float>());
    CHECK(t.at("model.layers.0.attn.o_norm.weight").shape() == Shape{16});
    CHECK(t.at("lm_head.weight").to_vector<float>() == t.at("model.embeddings.weight").to_vector<float>());
  }
  SECTION("log-linear Mamba-2: loglin's levels padded to fla's 15") {
    const TrainConfig cfg = tiny("loglinear_mamba2", twin_keys("loglinear_mamba2"));  // L = 6, H = 4
    auto m = random_model(cfg, 3);
    hf::export_model(cfg, kVocab, m->state_dict(), nullptr, tmp.path / "l", hf::ExportLayout::hf);
    const TensorMap t = hf_tensors(tmp.path / "l");
    // in_proj: z 32 + xBC 48 + dt 4, then dl 4 heads x 15 levels
    CHECK(t.at("backbone.layers.0.mixer.in_proj.weight").shape() == Shape{84 + 60, 16});
    const std::vector<float> lam = t.at("backbone.layers.0.mixer.L").to_vector<float>();
    const std::vector<float> mine = m->state_dict().at("blocks.0.mixer.Lambda").to_vector<float>();
    REQUIRE(lam.size() == 60);
    CHECK(lam[15 + 5] == mine[6 + 5]);  // head 1, level 5
    CHECK(lam[15 + 6] == 1.0f);         // head 1, level 6: padding
    CHECK(t.at("backbone.layers.1.mixer.conv1d.weight").shape() == Shape{48, 1, 4});
    CHECK(t.count("backbone.layers.1.mlp.gate_proj.weight") == 1);
    CHECK(t.count("backbone.norm_f.weight") == 1);
  }
}

TEST_CASE("hf: a model without an exact twin is refused unless --layout loglin", "[train][hf]") {
  TempDir tmp("hf_refuse");
  const std::vector<std::pair<TrainConfig, std::string>> cases{
      {tiny("loglinear_gated_deltanet"), "no log-linear Gated DeltaNet model"},
      {tiny("mamba2"), "has no MLP in its blocks"},
      {tiny("mamba2", ", mlp: false, n_groups: 2"), "only model.n_groups: 1 maps"},
      {tiny("loglinear_mamba2"), "MLP of width 256"},
      {tiny("transformer", ", mlp: false"), "always has an MLP"},
      {tiny("gated_deltanet", ", mlp: false"), "always has an MLP"}};
  for (const auto& [cfg, why] : cases) {
    INFO(cfg.model.arch << ": " << why);
    auto m = random_model(cfg, 4);
    const std::string e = error_message(
        [&] { hf::export_model(cfg, kVocab, m->state_dict(), nullptr, tmp.path / "out", hf::ExportLayout::hf); });
    CHECK(contains(e, why));
    CHECK(contains(e, "--layout loglin"));
    CHECK(!fs::exists(tmp.path / "out"));
    CHECK(fs::is_empty(tmp.path));  // no temporary directory left either
  }
}

TEST_CASE("hf: bad directories are refused, naming the tensor or key", "[train][hf]") {
  TempDir tmp("hf_bad");
  const TrainConfig cfg = tiny("gated_deltanet", ", tie_embeddings: false");
  auto m = random_model(cfg, 5);
  const fs::path dir = tmp.path / "g";
  hf::export_model(cfg, kVocab, m->state_dict(), nullptr, dir, hf::ExportLayout::hf);
  const TensorMap good = hf_tensors(dir);
  auto import_error = [&] { return error_message([&] { hf::import_model(dir); }); };

  SECTION("a missing tensor") {
    TensorMap t = good;
    t.erase("model.layers.1.attn.a_proj.weight");
    rewrite_tensors(dir, t);
    const std::string e = import_error();
    CHECK(contains(e, "missing tensor 'model.layers.1.attn.a_proj.weight'"));
    CHECK(contains(e, "[2, 16]"));
  }
  SECTION("a tensor of the wrong shape") {
    TensorMap t = good;
    t["model.layers.0.attn.q_conv1d.weight"] = Tensor::zeros({16, 4});
    rewrite_tensors(dir, t);
    const std::string e = import_error();
    CHECK(contains(e, "'model.layers.0.attn.q_conv1d.weight' has shape [16, 4], expected [16, 1, 4]"));
  }
  SECTION("a tensor of the wrong dtype") {
    TensorMap t = good;
    t["model.norm.weight"] = t.at("model.norm.weight").to(DType::bf16);
    rewrite_tensors(dir, t);
    CHECK(contains(import_error(), "'model.norm.weight' is BF16, but config.json's torch_dtype says F32"));
  }
  SECTION("a tensor loglin has no place for") {
    TensorMap t = good;
    t["model.layers.0.attn.q_proj.bias"] = Tensor::zeros({16});
    rewrite_tensors(dir, t);
    CHECK(contains(import_error(), "unexpected tensor 'model.layers.0.attn.q_proj.bias'"));
  }
  SECTION("a config field loglin's layer cannot express") {
    set_config_field(dir, "allow_neg_eigval", "true");
    CHECK(contains(import_error(), "'allow_neg_eigval' must be false"));
  }
  SECTION("an unknown model_type") {
    set_config_field(dir, "model_type", "\"rwkv7\"");
    CHECK(contains(import_error(), "model_type 'rwkv7' is not one loglin reads"));
  }
  SECTION("sharded weights (model.safetensors.index.json)") {
    TensorMap a, b;
    std::string map;
    for (const auto& [k, v] : good) {
      const bool first = k.rfind("model.layers.0.", 0) == 0;
      (first ? a : b)[k] = v;
      map += (map.empty() ? "" : ",") + ("\"" + k + "\":\"") + (first ? "part-1.safetensors" : "part-2.safetensors") + "\"";
    }
    fs::remove(dir / "model.safetensors");
    save_safetensors(dir / "part-1.safetensors", a, {{"format", "pt"}});
    save_safetensors(dir / "part-2.safetensors", b, {{"format", "pt"}});
    io::write_file_atomic(dir / "model.safetensors.index.json", "{\"metadata\":{},\"weight_map\":{" + map + "}}");
    require_same_tensors(hf::import_model(dir).model, m->state_dict());
    fs::remove(dir / "model.safetensors.index.json");
    CHECK(contains(import_error(), "has neither model.safetensors nor model.safetensors.index.json"));
  }
  SECTION("bf16 weights are read when config.json says bfloat16") {
    TensorMap t;
    for (const auto& [k, v] : good) t[k] = v.to(DType::bf16);
    rewrite_tensors(dir, t);
    set_config_field(dir, "torch_dtype", "\"bfloat16\"");
    hf::ImportedModel back = hf::import_model(dir);
    CHECK(back.model.at("blocks.0.mixer.A_log").to_vector<float>() ==
          good.at("model.layers.0.attn.A_log").to(DType::bf16).to(DType::f32).to_vector<float>());
  }
}

TEST_CASE("hf: import checks what it drops and what tied weights repeat", "[train][hf]") {
  TempDir tmp("hf_drop");
  SECTION("a used level beyond loglin's max_seq_len") {
    const TrainConfig cfg = tiny("loglinear_mamba2", twin_keys("loglinear_mamba2"));
    auto m = random_model(cfg, 6);
    const fs::path dir = tmp.path / "l";
    hf::export_model(cfg, kVocab, m->state_dict(), nullptr, dir, hf::ExportLayout::hf);
    TensorMap t = hf_tensors(dir);
    Tensor lam = t.at("backbone.layers.0.mixer.L").contiguous();
    lam.data<float>()[14] = 0.25f;  // head 0, level 14: loglin has 6
    t["backbone.layers.0.mixer.L"] = lam;
    rewrite_tensors(dir, t);
    const std::string e = error_message([&] { hf::import_model(dir); });
    CHECK(contains(e, "'backbone.layers.0.mixer.L' row 14 holds 0.25 where loglin needs 1"));
  }
  SECTION("a tied head that differs from the embedding") {
    const TrainConfig cfg = tiny("mamba2", twin_keys("mamba2"));
    auto m = random_model(cfg, 7);
    const fs::path dir = tmp.path / "m";
    hf::export_model(cfg, kVocab, m->state_dict(), nullptr, dir, hf::ExportLayout::hf);
    TensorMap t = hf_tensors(dir);
    t["lm_head.weight"] = mul(t.at("lm_head.weight"), 2.0);
    rewrite_tensors(dir, t);
    CHECK(contains(error_message([&] { hf::import_model(dir); }),
                   "'lm_head.weight' differs from 'embed.weight', but config.json ties them"));
    t.erase("lm_head.weight");  // absent is fine: the model ties it
    rewrite_tensors(dir, t);
    CHECK(hf::import_model(dir).model.count("embed.weight") == 1);
  }
}

TEST_CASE("hf: an imported model trains on exactly as the trainer would have from those weights", "[train][hf]") {
  // The trainer's step-0 weights, exported and imported into a run directory
  // at step 0, then trained: the result must equal an uninterrupted run.
  TempDir tmp("hf_train_on");
  TrainConfig cfg = tiny("transformer");
  cfg.logging.run_dir = (tmp.path / "direct").string();
  Trainer(cfg).run();

  Generator gen(static_cast<uint64_t>(cfg.training.seed));
  nn::LanguageModel init(lm_options(cfg.model, kVocab), gen);  // what the trainer starts from
  hf::export_model(cfg, kVocab, init.state_dict(), nullptr, tmp.path / "hf", hf::ExportLayout::hf);
  hf::ImportedModel imp = hf::import_model(tmp.path / "hf");
  imp.config.logging.run_dir = (tmp.path / "imported").string();
  const TrainConfig saved = hf::write_run_from_weights(imp.config, imp.vocab, imp.model);
  CHECK(saved.checkpoint.resume);
  REQUIRE(latest_checkpoint(tmp.path / "imported" / "checkpoints")->filename() == "step_000000");

  SavedRun opened = open_saved_run((tmp.path / "imported").string());  // what `loglin eval` opens
  CHECK(logits_of(*opened.model).to_vector<float>() == logits_of(init).to_vector<float>());

  Trainer(saved).run();
  const Checkpoint a = load_checkpoint(*latest_checkpoint(tmp.path / "direct" / "checkpoints"));
  const Checkpoint b = load_checkpoint(*latest_checkpoint(tmp.path / "imported" / "checkpoints"));
  REQUIRE(a.step == 4);
  REQUIRE(b.step == 4);
  require_same_tensors(a.model, b.model);
  require_same_tensors(a.optimizer, b.optimizer);

  SECTION("a run directory that exists is refused, and nothing is written") {
    const std::string e = error_message([&] { hf::write_run_from_weights(imp.config, imp.vocab, imp.model); });
    CHECK(contains(e, "already exists and is not empty"));
    CHECK(load_checkpoint(*latest_checkpoint(tmp.path / "imported" / "checkpoints")).step == 4);
  }
}

TEST_CASE("hf: the logits-check file holds the tokens and the model's logits", "[train][hf]") {
  TempDir tmp("hf_logits");
  const TrainConfig cfg = tiny("gated_deltanet");
  auto m = random_model(cfg, 8);
  const Tensor tokens = hf::check_tokens(kVocab, 2, 32, 0);
  hf::write_logits_check(*m, tokens, tmp.path / "check.safetensors", {{"model_type", "gated_deltanet"}});
  const SafetensorsFile f = load_safetensors(tmp.path / "check.safetensors");
  CHECK(f.metadata.at("model_type") == "gated_deltanet");
  CHECK(f.tensors.at("tokens").to_vector<int64_t>() == tokens.to_vector<int64_t>());
  NoGradGuard no_grad;
  CHECK(f.tensors.at("logits").to_vector<float>() == m->forward(tokens).to_vector<float>());
  for (int64_t id : tokens.to_vector<int64_t>()) CHECK((id >= 0 && id < kVocab));
}

TEST_CASE("hf: import takes --set for what config.json does not fix", "[train][hf]") {
  TempDir tmp("hf_set");
  const TrainConfig cfg = tiny("gated_deltanet");
  auto m = random_model(cfg, 9);
  hf::export_model(cfg, kVocab, m->state_dict(), nullptr, tmp.path / "g", hf::ExportLayout::hf);
  const hf::ImportedModel a = hf::import_model(tmp.path / "g", {"training.steps=7", "model.dropout=0.2"});
  CHECK(a.config.training.steps == 7);
  CHECK(a.config.model.dropout == 0.2);
  const std::string e = error_message([&] { hf::import_model(tmp.path / "g", {"model.n_heads=4"}); });
  CHECK(contains(e, "config.json fixes the rest"));
}

TEST_CASE("hf: the tokenizer goes with the model", "[train][hf]") {
  TempDir tmp("hf_tok");
  TrainConfig cfg = tiny("transformer");
  auto m = random_model(cfg, 10);
  SECTION("byte: loglin's file and an exact tokenizers file (GPT-2's byte alphabet, no merges)") {
    auto tok = make_tokenizer("byte", "");
    hf::export_model(cfg, kVocab, m->state_dict(), tok.get(), tmp.path / "b", hf::ExportLayout::hf);
    CHECK(load_tokenizer((tmp.path / "b" / hf::kTokenizerFile).string())->name() == "byte");
    const json::Value t = json::Value::parse(io::read_file(tmp.path / "b" / "tokenizer.json"));
    const auto& vocab = t.at("model").at("vocab").as_object();
    REQUIRE(vocab.size() == 256);
    std::vector<int> seen(256, 0);
    for (const auto& [piece, id] : vocab) ++seen.at(static_cast<size_t>(id.as_int()));
    CHECK(std::count(seen.begin(), seen.end(), 1) == 256);
    CHECK(vocab.at("A").as_int() == 0x41);
    CHECK(vocab.at("\xC4\xA0").as_int() == 0x20);  // U+0120 stands for the space
    CHECK(vocab.at("\xC4\x80").as_int() == 0x00);  // U+0100
    CHECK(vocab.at("\xC5\x83").as_int() == 0xAD);  // U+0143, the last stand-in
    CHECK(t.at("model").at("merges").as_array().empty());
    CHECK(contains(io::read_file(tmp.path / "b" / "tokenizer_config.json"), "PreTrainedTokenizerFast"));
    CHECK(hf::import_model(tmp.path / "b").config.data.tokenizer == "byte");
  }
  SECTION("bpe: loglin's file only, and import points the config at it") {
    BpeTokenizer bpe({{104, 101}, {256, 108}});  // "he", "hel"
    hf::export_model(cfg, kVocab, m->state_dict(), &bpe, tmp.path / "p", hf::ExportLayout::hf);
    CHECK(!fs::exists(tmp.path / "p" / "tokenizer.json"));
    const hf::ImportedModel back = hf::import_model(tmp.path / "p");
    CHECK(back.config.data.tokenizer == "bpe");
    CHECK(back.config.data.tokenizer_path == (tmp.path / "p" / hf::kTokenizerFile).string());
    CHECK(load_tokenizer(back.config.data.tokenizer_path)->encode("hello").size() == 3);  // "hel" "l" "o"
  }
}

// transformer <-> Hugging Face transformers' LlamaForCausalLM.
//
// loglin's block is Llama's: pre-norm RMSNorm (x * rsqrt(mean(x^2) + eps) *
// w), softmax attention with RoPE, SwiGLU MLP, no biases. RoPE is the
// half-split form on both sides (pair i with i + head_dim / 2, frequency
// theta^(-2i / head_dim), theta 10000): Llama's rotate_half, so q and k rows
// need no permutation. The fused qkv projection splits into q_proj, k_proj
// and v_proj (rows [0, D), [D, 2D), [2D, 3D)); no grouped-query attention.
#include <fmt/format.h>

#include "core/error.h"
#include "train/hf/hf_arch.h"

namespace loglin::hf {
namespace {

constexpr double kRopeTheta = 10000.0;  // nn/mixers/attention.h

std::string twin_problem(const ModelConfig& m) {
  if (!m.mlp) return "Llama's decoder layer always has an MLP, and this model has model.mlp: false";
  return "";
}

json::Value::Object config(const ModelConfig& m) {
  json::Value::Object c;
  c.emplace("hidden_size", m.d_model);
  c.emplace("intermediate_size", m.resolved_mlp_hidden());
  c.emplace("num_hidden_layers", m.n_layers);
  c.emplace("num_attention_heads", m.n_heads);
  c.emplace("num_key_value_heads", m.n_heads);
  c.emplace("head_dim", m.d_model / m.n_heads);
  c.emplace("hidden_act", "silu");
  c.emplace("max_position_embeddings", m.max_seq_len);
  c.emplace("rms_norm_eps", m.norm_eps);
  c.emplace("rope_theta", kRopeTheta);
  c.emplace("rope_scaling", json::Value());
  c.emplace("attention_bias", false);
  c.emplace("attention_dropout", 0.0);
  c.emplace("mlp_bias", false);
  c.emplace("pretraining_tp", 1);
  c.emplace("initializer_range", m.init_std);
  c.emplace("use_cache", true);
  return c;
}

ModelConfig model_config(const ConfigReader& c, ModelConfig m) {
  m.arch = "transformer";
  m.d_model = static_cast<int>(c.get_int("hidden_size"));
  m.n_layers = static_cast<int>(c.get_int("num_hidden_layers"));
  m.n_heads = static_cast<int>(c.get_int("num_attention_heads"));
  LOGLIN_CHECK(m.n_heads > 0 && m.d_model % m.n_heads == 0,
               "[import] {}: num_attention_heads {} must divide hidden_size {}", c.where(), m.n_heads, m.d_model);
  LOGLIN_CHECK(c.get_int("num_key_value_heads", m.n_heads) == m.n_heads,
               "[import] {}: num_key_value_heads {} differs from num_attention_heads {}: loglin's attention has no "
               "grouped-query attention",
               c.where(), c.get_int("num_key_value_heads"), m.n_heads);
  LOGLIN_CHECK(c.get_int("head_dim", m.d_model / m.n_heads) == m.d_model / m.n_heads,
               "[import] {}: head_dim {} is not hidden_size / num_attention_heads = {}, as loglin's attention needs",
               c.where(), c.get_int("head_dim"), m.d_model / m.n_heads);
  m.mlp = true;
  m.mlp_hidden = static_cast<int>(c.get_int("intermediate_size"));
  m.max_seq_len = static_cast<int>(c.get_int("max_position_embeddings", m.max_seq_len));
  m.norm_eps = c.get_double("rms_norm_eps", 1e-6);
  LOGLIN_CHECK(c.get_double("rope_theta", kRopeTheta) == kRopeTheta,
               "[import] {}: rope_theta {} is not 10000, the only RoPE base loglin's attention has", c.where(),
               c.get_double("rope_theta"));
  c.require_null("rope_scaling", "loglin's RoPE has no scaling");
  c.require_string("hidden_act", "silu", "silu", "loglin's MLP is SwiGLU");
  c.require_bool("attention_bias", false, false, "loglin's projections have no biases");
  c.require_bool("mlp_bias", false, false, "loglin's projections have no biases");
  m.init_std = c.get_double("initializer_range", m.init_std);
  return m;
}

Layout layout(const ModelConfig& m, int64_t vocab) {
  const int64_t D = m.d_model, F = m.resolved_mlp_hidden();
  Layout l;
  l.tensors.push_back(whole("model.embed_tokens.weight", "embed.weight", {vocab, D}));
  for (int i = 0; i < m.n_layers; ++i) {
    const std::string hf = fmt::format("model.layers.{}.", i), ll = fmt::format("blocks.{}.", i);
    const char* qkv[] = {"q_proj", "k_proj", "v_proj"};
    for (int64_t j = 0; j < 3; ++j) {
      HfTensor t;
      t.name = hf + "self_attn." + qkv[j] + ".weight";
      t.shape = {D, D};
      t.width = D;
      t.copies.push_back({ll + "mixer.qkv.weight", j * D, 0, D});
      l.tensors.push_back(std::move(t));
    }
    l.tensors.push_back(whole(hf + "self_attn.o_proj.weight", ll + "mixer.out.weight", {D, D}));
    l.tensors.push_back(whole(hf + "mlp.gate_proj.weight", ll + "mlp.gate.weight", {F, D}));
    l.tensors.push_back(whole(hf + "mlp.up_proj.weight", ll + "mlp.up.weight", {F, D}));
    l.tensors.push_back(whole(hf + "mlp.down_proj.weight", ll + "mlp.down.weight", {D, F}));
    l.tensors.push_back(whole(hf + "input_layernorm.weight", ll + "mixer_norm.weight", {D}));
    l.tensors.push_back(whole(hf + "post_attention_layernorm.weight", ll + "mlp_norm.weight", {D}));
  }
  l.tensors.push_back(whole("model.norm.weight", "final_norm.weight", {D}));
  add_lm_head(l, m, vocab, /*with_tied_copy=*/false);  // Llama's own checkpoints omit a tied head
  l.ignored_suffixes = {"rotary_emb.inv_freq"};      // a buffer older transformers saved
  return l;
}

}  // namespace

ArchMap llama_map() {
  ArchMap a;
  a.loglin_arch = "transformer";
  a.model_type = "llama";
  a.hf_class = "LlamaForCausalLM";
  a.implementation = "Hugging Face transformers";
  a.twin_problem = twin_problem;
  a.config = config;
  a.model_config = model_config;
  a.layout = layout;
  return a;
}

}  // namespace loglin::hf

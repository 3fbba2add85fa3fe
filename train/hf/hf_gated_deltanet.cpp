// gated_deltanet <-> the reference package's (fla) GatedDeltaNetForCausalLM;
// loglinear_gated_deltanet has no public twin.
//
// The layers compute the same thing: short convs with SiLU and no bias over
// q, k and v; q and k L2-normalised per head (eps 1e-6) and q scaled by
// 1/sqrt(K); beta = sigmoid(b); g = -exp(A_log) * softplus(a + dt_bias);
// the output gated RMSNorm norm(o) * w * silu(g_proj(x)) per head; o_proj.
// loglin fuses what fla keeps apart, so the export splits and the import
// fuses:
//   in_proj rows [q | k | v | z | a | b]  -> q_proj, k_proj, v_proj, g_proj,
//                                            a_proj, b_proj
//   conv channels [q | k | v]             -> q_conv1d, k_conv1d, v_conv1d
// fla's block always has an MLP (intermediate_size from config.json), so
// model.mlp: false has no twin.
#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "train/hf/hf_arch.h"

namespace loglin::hf {
namespace {

std::string problem(const ModelConfig& m) {
  if (!m.mlp) return "fla's GatedDeltaNet block always has an MLP, and this model has model.mlp: false";
  return "";
}

std::string loglinear_problem(const ModelConfig&) {
  return "the reference package (fla) has no log-linear Gated DeltaNet model (its models are gated_deltanet and "
         "log_linear_mamba2), so there is no public layout to write";
}

json::Value::Object config(const ModelConfig& m) {
  json::Value::Object c;
  c.emplace("attn_mode", "chunk");
  c.emplace("hidden_size", m.d_model);
  c.emplace("num_hidden_layers", m.n_layers);
  c.emplace("num_heads", m.n_heads);
  c.emplace("num_v_heads", json::Value());
  c.emplace("head_dim", m.head_dim);
  c.emplace("expand_v", static_cast<double>(m.expand_v));
  c.emplace("use_gate", true);
  c.emplace("use_short_conv", true);
  c.emplace("allow_neg_eigval", false);
  c.emplace("conv_size", m.conv_kernel);
  c.emplace("hidden_ratio", 4);
  c.emplace("intermediate_size", m.resolved_mlp_hidden());
  c.emplace("hidden_act", "swish");
  c.emplace("norm_eps", m.norm_eps);
  c.emplace("max_position_embeddings", m.max_seq_len);
  c.emplace("initializer_range", m.init_std);
  c.emplace("attn", json::Value());
  c.emplace("fuse_norm", true);
  c.emplace("fuse_swiglu", true);
  c.emplace("use_cache", true);
  return c;
}

ModelConfig model_config(const ConfigReader& c, ModelConfig m) {
  m.arch = "gated_deltanet";
  m.d_model = static_cast<int>(c.get_int("hidden_size"));
  m.n_layers = static_cast<int>(c.get_int("num_hidden_layers"));
  m.n_heads = static_cast<int>(c.get_int("num_heads", 6));
  m.head_dim = static_cast<int>(c.get_int("head_dim", 256));
  const double ev = c.get_double("expand_v", 2.0);
  LOGLIN_CHECK(ev >= 1 && std::floor(ev) == ev, "[import] {}: expand_v {} is not a whole number, as loglin's "
                                                "model.expand_v must be",
               c.where(), ev);
  m.expand_v = static_cast<int>(ev);
  LOGLIN_CHECK(c.get_int("num_v_heads", m.n_heads) == m.n_heads,
               "[import] {}: num_v_heads {} differs from num_heads {}: loglin has no grouped value heads", c.where(),
               c.get_int("num_v_heads"), m.n_heads);
  m.conv_kernel = static_cast<int>(c.get_int("conv_size", 4));
  m.norm_eps = c.get_double("norm_eps", 1e-6);
  m.max_seq_len = static_cast<int>(c.get_int("max_position_embeddings", m.max_seq_len));
  m.init_std = c.get_double("initializer_range", m.init_std);
  m.mlp = true;
  if (c.has("intermediate_size")) {
    m.mlp_hidden = static_cast<int>(c.get_int("intermediate_size"));
  } else {  // fla's GatedMLP: hidden_ratio * 2/3 of the width, rounded up to 256
    const int64_t r = c.get_int("hidden_ratio", 4);
    m.mlp_hidden = static_cast<int>(256 * ((m.d_model * r * 2 / 3 + 255) / 256));
  }
  c.require_bool("use_gate", true, true, "loglin's layer has the output gate");
  c.require_bool("use_short_conv", true, true, "loglin's layer has the short convs");
  c.require_bool("allow_neg_eigval", false, false, "loglin's beta is sigmoid(b), in (0, 1)");
  c.require_bool("use_l2warp", false, false, "loglin has no l2warp loss term");
  c.require_string("hidden_act", "swish", "swish", "loglin's MLP is SwiGLU");
  c.require_null("attn", "loglin has no hybrid attention layers in a Gated DeltaNet model");
  c.require_null("attnres_block_size", "loglin has no attention residuals");
  return m;
}

Layout layout(const ModelConfig& m, int64_t vocab) {
  const int64_t D = m.d_model, H = m.n_heads, K = m.head_dim, V = int64_t(m.expand_v) * K, W = m.conv_kernel;
  const int64_t HK = H * K, HV = H * V, C = 2 * HK + HV, F = m.resolved_mlp_hidden();
  Layout l;
  l.tensors.push_back(whole("model.embeddings.weight", "embed.weight", {vocab, D}));
  for (int i = 0; i < m.n_layers; ++i) {
    const std::string pre = fmt::format("model.layers.{}.", i), ll = fmt::format("blocks.{}.", i);
    const std::string at = pre + "attn.", mx = ll + "mixer.";
    auto rows_of = [&](const std::string& hf, const std::string& src, int64_t first, Shape shape, int64_t width) {
      HfTensor t;
      t.name = hf;
      t.width = width;
      t.copies.push_back({src, first, 0, shape[0]});
      t.shape = std::move(shape);
      l.tensors.push_back(std::move(t));
    };
    // in_proj rows: [q HK | k HK | v HV | z HV | a H | b H]
    rows_of(at + "q_proj.weight", mx + "in_proj.weight", 0, {HK, D}, D);
    rows_of(at + "k_proj.weight", mx + "in_proj.weight", HK, {HK, D}, D);
    rows_of(at + "v_proj.weight", mx + "in_proj.weight", 2 * HK, {HV, D}, D);
    rows_of(at + "g_proj.weight", mx + "in_proj.weight", C, {HV, D}, D);
    rows_of(at + "a_proj.weight", mx + "in_proj.weight", C + HV, {H, D}, D);
    rows_of(at + "b_proj.weight", mx + "in_proj.weight", C + HV + H, {H, D}, D);
    // conv channels: [q HK | k HK | v HV], each [channels, 1, W] in fla
    rows_of(at + "q_conv1d.weight", mx + "conv.weight", 0, {HK, 1, W}, W);
    rows_of(at + "k_conv1d.weight", mx + "conv.weight", HK, {HK, 1, W}, W);
    rows_of(at + "v_conv1d.weight", mx + "conv.weight", 2 * HK, {HV, 1, W}, W);
    l.tensors.push_back(whole(at + "A_log", mx + "A_log", {H}));
    l.tensors.push_back(whole(at + "dt_bias", mx + "dt_bias", {H}));
    l.tensors.push_back(whole(at + "o_norm.weight", mx + "norm.weight", {V}));
    l.tensors.push_back(whole(at + "o_proj.weight", mx + "out_proj.weight", {D, HV}));
    l.tensors.push_back(whole(pre + "attn_norm.weight", ll + "mixer_norm.weight", {D}));
    l.tensors.push_back(whole(pre + "mlp_norm.weight", ll + "mlp_norm.weight", {D}));
    l.tensors.push_back(whole(pre + "mlp.gate_proj.weight", ll + "mlp.gate.weight", {F, D}));
    l.tensors.push_back(whole(pre + "mlp.up_proj.weight", ll + "mlp.up.weight", {F, D}));
    l.tensors.push_back(whole(pre + "mlp.down_proj.weight", ll + "mlp.down.weight", {D, F}));
  }
  l.tensors.push_back(whole("model.norm.weight", "final_norm.weight", {D}));
  add_lm_head(l, m, vocab, /*with_tied_copy=*/true);
  return l;
}

}  // namespace

ArchMap gated_deltanet_map() {
  ArchMap a;
  a.loglin_arch = "gated_deltanet";
  a.model_type = "gated_deltanet";
  a.hf_class = "GatedDeltaNetForCausalLM";
  a.implementation = "fla (fla.models.GatedDeltaNetForCausalLM)";
  a.twin_problem = problem;
  a.config = config;
  a.model_config = model_config;
  a.layout = layout;
  return a;
}

ArchMap loglinear_gated_deltanet_map() {
  ArchMap a;
  a.loglin_arch = "loglinear_gated_deltanet";
  a.twin_problem = loglinear_problem;
  return a;
}

}  // namespace loglin::hf

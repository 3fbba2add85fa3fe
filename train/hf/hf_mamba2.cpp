// mamba2 <-> the reference package's (fla) Mamba2ForCausalLM, and
// loglinear_mamba2 <-> its LogLinearMamba2ForCausalLM.
//
// The mixer is the same on both sides: in_proj -> [z, xBC, dt(, dl)], a
// depthwise causal conv with bias and SiLU over xBC, dt = softplus(dt +
// dt_bias), A = -exp(A_log), D skip per head, then the gated RMSNorm
// norm(y) * w * silu(z), which fla computes with norm_before_gate: true
// (loglin's rms_norm_gated), and out_proj. What differs is the block and
// its edges:
//   - fla's Mamba2 block has no MLP: only model.mlp: false maps.
//   - fla's LogLinearMamba2 block always has a SwiGLU MLP of width
//     256 * ceil(floor(8 d / 3) / 256) (hidden_ratio 4, fixed in its code),
//     and 15 levels (sequences up to 16384): loglin's L = bit_length(
//     max_seq_len - 1) + 1 levels are padded to 15 (in_proj's dl rows with 0,
//     the level parameter L with 1); levels past L are never reached by a
//     sequence of max_seq_len tokens, so the logits are the same.
//   - fla normalises the gated output per group of d_inner / n_groups and
//     assigns heads to groups in two different ways (its reference and
//     cached paths): only n_groups: 1 maps.
#include <fmt/format.h>

#include "core/error.h"
#include "nn/mixers/mamba2.h"
#include "train/hf/hf_arch.h"

namespace loglin::hf {
namespace {

constexpr int64_t kFlaLevels = 15;       // fla's MAX_NUM_LEVELS: ceil(log2(16384)) + 1
constexpr int64_t kFlaMaxLength = 16384;  // the longest sequence those levels cover

// fla's GatedMLP width with hidden_ratio 4 and no intermediate_size.
int64_t fla_mlp_width(int64_t d) { return 256 * ((8 * d / 3 + 255) / 256); }

struct Dims {
  int64_t D, d_inner, H, P, N, conv_dim, W, L;
};

Dims dims(const ModelConfig& m, bool log_linear) {
  Dims d;
  d.D = m.d_model;
  d.d_inner = int64_t(m.expand) * m.d_model;
  d.P = m.head_dim;
  d.H = d.d_inner / d.P;
  d.N = m.d_state;
  d.conv_dim = d.d_inner + 2 * int64_t(m.n_groups) * d.N;
  d.W = m.conv_kernel;
  d.L = log_linear ? nn::levels_for_length(m.max_seq_len) : 1;
  return d;
}

std::string common_problem(const ModelConfig& m) {
  if (m.n_groups != 1)
    return fmt::format(
        "fla's Mamba-2 normalises the gated output per group (d_inner / n_groups) where loglin normalises all of "
        "d_inner, so only model.n_groups: 1 maps (this model has {})",
        m.n_groups);
  return "";
}

std::string mamba2_problem(const ModelConfig& m) {
  if (m.mlp) return "fla's Mamba2ForCausalLM has no MLP in its blocks, and this model has model.mlp: true (train with "
                    "model.mlp: false for a Mamba-2 that exports)";
  return common_problem(m);
}

std::string loglinear_problem(const ModelConfig& m) {
  const int64_t want = fla_mlp_width(m.d_model);
  if (!m.mlp) return "fla's LogLinearMamba2 block always has an MLP, and this model has model.mlp: false";
  if (m.resolved_mlp_hidden() != want)
    return fmt::format(
        "fla's LogLinearMamba2 block has an MLP of width {} for d_model {} (fixed in its code), this model's is {} "
        "(train with model.mlp_hidden: {} for a model that exports)",
        want, m.d_model, m.resolved_mlp_hidden(), want);
  if (m.max_seq_len > kFlaMaxLength)
    return fmt::format("fla's LogLinearMamba2 has {} levels (sequences up to {} tokens), this model's max_seq_len is {}",
                       kFlaLevels, kFlaMaxLength, m.max_seq_len);
  return common_problem(m);
}

json::Value::Object config(const ModelConfig& m, bool log_linear) {
  const Dims d = dims(m, log_linear);
  json::Value::Object c;
  c.emplace("hidden_size", m.d_model);
  c.emplace("state_size", m.d_state);
  c.emplace("num_hidden_layers", m.n_layers);
  c.emplace("head_dim", m.head_dim);
  c.emplace("num_heads", d.H);
  c.emplace("expand", m.expand);
  c.emplace("n_groups", m.n_groups);
  c.emplace("conv_kernel", m.conv_kernel);
  c.emplace("use_bias", false);
  c.emplace("use_conv_bias", true);
  c.emplace("hidden_act", "silu");
  c.emplace("rmsnorm", true);
  c.emplace("norm_before_gate", true);
  c.emplace("D_has_hdim", false);
  c.emplace("norm_eps", m.norm_eps);
  // fla's log-linear scan takes chunk 64 only; the chunk is a schedule, not a parameter.
  c.emplace("chunk_size", log_linear ? 64 : m.chunk_size);
  c.emplace("residual_in_fp32", !log_linear);  // fla's LogLinearMamba2 refuses true
  c.emplace("fuse_norm", true);
  c.emplace("initializer_range", m.init_std);
  c.emplace("max_position_embeddings", m.max_seq_len);  // not read by fla; loglin's max_seq_len
  return c;
}

ModelConfig model_config(const ConfigReader& c, ModelConfig m, bool log_linear) {
  m.arch = log_linear ? "loglinear_mamba2" : "mamba2";
  m.d_model = static_cast<int>(c.get_int("hidden_size"));
  m.n_layers = static_cast<int>(c.get_int("num_hidden_layers"));
  m.head_dim = static_cast<int>(c.get_int("head_dim", 64));
  m.d_state = static_cast<int>(c.get_int("state_size", 128));
  m.expand = static_cast<int>(c.get_int("expand", 2));
  m.n_groups = static_cast<int>(c.get_int("n_groups", 1));
  m.conv_kernel = static_cast<int>(c.get_int("conv_kernel", 4));
  m.norm_eps = c.get_double("norm_eps", 1e-5);
  m.init_std = c.get_double("initializer_range", m.init_std);
  const int64_t d_inner = int64_t(m.expand) * m.d_model;
  LOGLIN_CHECK(m.head_dim > 0 && d_inner % m.head_dim == 0,
               "[import] {}: head_dim {} must divide expand * hidden_size = {}", c.where(), m.head_dim, d_inner);
  LOGLIN_CHECK(c.get_int("num_heads", d_inner / m.head_dim) == d_inner / m.head_dim,
               "[import] {}: num_heads {} is not expand * hidden_size / head_dim = {}", c.where(),
               c.get_int("num_heads"), d_inner / m.head_dim);
  LOGLIN_CHECK(m.n_groups == 1, "[import] {}: n_groups is {}: loglin normalises the gated output over all of d_inner, "
                                "fla per group, so only n_groups 1 maps",
               c.where(), m.n_groups);
  c.require_bool("rmsnorm", true, true, "loglin's Mamba-2 ends in a gated RMSNorm");
  c.require_bool("norm_before_gate", false, true, "loglin computes norm(y) * w * silu(z)");
  c.require_bool("use_bias", false, false, "loglin's in_proj and out_proj have no biases");
  c.require_bool("use_conv_bias", true, true, "loglin's conv has a bias");
  c.require_bool("D_has_hdim", false, false, "loglin's D is one value per head");
  c.require_string("hidden_act", "silu", "silu", "loglin's conv activation is SiLU");
  if (log_linear) {
    c.require_bool("residual_in_fp32", false, false, "fla's LogLinearMamba2 itself refuses true");
    c.require_null("attnres_block_size", "loglin has no attention residuals");
    m.mlp = true;
    m.mlp_hidden = static_cast<int>(fla_mlp_width(m.d_model));
    m.max_seq_len = static_cast<int>(c.get_int("max_position_embeddings", kFlaMaxLength));
    LOGLIN_CHECK(m.max_seq_len >= 1 && m.max_seq_len <= kFlaMaxLength,
                 "[import] {}: max_position_embeddings {} must be in [1, {}] (fla's {} levels)", c.where(),
                 m.max_seq_len, kFlaMaxLength, kFlaLevels);
  } else {
    m.mlp = false;
    m.max_seq_len = static_cast<int>(c.get_int("max_position_embeddings", m.max_seq_len));
  }
  return m;
}

// The mixer's tensors; `pre` is the HF block prefix, `ll` loglin's.
void add_mixer(Layout& l, const Dims& d, const std::string& pre, const std::string& ll, bool log_linear) {
  const std::string mx = pre + "mixer.", lm = ll + "mixer.";
  if (!log_linear) {
    l.tensors.push_back(whole(mx + "in_proj.weight", lm + "in_proj.weight", {d.d_inner + d.conv_dim + d.H, d.D}));
  } else {
    // [z, xBC, dt] as they are, then dl: head h's L rows at h * 15, the rest 0.
    HfTensor t;
    t.name = mx + "in_proj.weight";
    const int64_t head_rows = d.d_inner + d.conv_dim + d.H;
    t.shape = {head_rows + d.H * kFlaLevels, d.D};
    t.width = d.D;
    t.copies.push_back({lm + "in_proj.weight", 0, 0, head_rows});
    for (int64_t h = 0; h < d.H; ++h)
      t.copies.push_back({lm + "in_proj.weight", head_rows + h * d.L, head_rows + h * kFlaLevels, d.L});
    l.tensors.push_back(std::move(t));
    HfTensor lam;  // L [H, 15]: head h's L levels, the rest 1 (fla's init)
    lam.name = mx + "L";
    lam.shape = {d.H, kFlaLevels};
    lam.width = 1;
    lam.fill = 1.0f;
    for (int64_t h = 0; h < d.H; ++h) lam.copies.push_back({lm + "Lambda", h * d.L, h * kFlaLevels, d.L});
    l.tensors.push_back(std::move(lam));
  }
  HfTensor conv = whole(mx + "conv1d.weight", lm + "conv.weight", {d.conv_dim, 1, d.W});
  l.tensors.push_back(std::move(conv));
  l.tensors.push_back(whole(mx + "conv1d.bias", lm + "conv.bias", {d.conv_dim}));
  l.tensors.push_back(whole(mx + "dt_bias", lm + "dt_bias", {d.H}));
  l.tensors.push_back(whole(mx + "A_log", lm + "A_log", {d.H}));
  l.tensors.push_back(whole(mx + "D", lm + "D", {d.H}));
  l.tensors.push_back(whole(mx + "norm.weight", lm + "norm.weight", {d.d_inner}));
  l.tensors.push_back(whole(mx + "out_proj.weight", lm + "out_proj.weight", {d.D, d.d_inner}));
}

Layout layout(const ModelConfig& m, int64_t vocab, bool log_linear) {
  const Dims d = dims(m, log_linear);
  Layout l;
  l.tensors.push_back(whole("backbone.embeddings.weight", "embed.weight", {vocab, d.D}));
  for (int i = 0; i < m.n_layers; ++i) {
    const std::string pre = fmt::format("backbone.layers.{}.", i), ll = fmt::format("blocks.{}.", i);
    add_mixer(l, d, pre, ll, log_linear);
    if (!log_linear) {
      l.tensors.push_back(whole(pre + "norm.weight", ll + "mixer_norm.weight", {d.D}));
      continue;
    }
    const int64_t F = m.resolved_mlp_hidden();
    l.tensors.push_back(whole(pre + "mixer_norm.weight", ll + "mixer_norm.weight", {d.D}));
    l.tensors.push_back(whole(pre + "mlp_norm.weight", ll + "mlp_norm.weight", {d.D}));
    l.tensors.push_back(whole(pre + "mlp.gate_proj.weight", ll + "mlp.gate.weight", {F, d.D}));
    l.tensors.push_back(whole(pre + "mlp.up_proj.weight", ll + "mlp.up.weight", {F, d.D}));
    l.tensors.push_back(whole(pre + "mlp.down_proj.weight", ll + "mlp.down.weight", {d.D, F}));
  }
  l.tensors.push_back(whole("backbone.norm_f.weight", "final_norm.weight", {d.D}));
  // fla's Mamba-2 classes list no tied weights, so a tied head is written out.
  add_lm_head(l, m, vocab, /*with_tied_copy=*/true);
  return l;
}

}  // namespace

ArchMap mamba2_map() {
  ArchMap a;
  a.loglin_arch = "mamba2";
  a.model_type = "mamba2";
  a.hf_class = "Mamba2ForCausalLM";
  a.implementation = "fla (fla.models.Mamba2ForCausalLM)";
  a.twin_problem = mamba2_problem;
  a.config = [](const ModelConfig& m) { return config(m, false); };
  a.model_config = [](const ConfigReader& c, ModelConfig m) { return model_config(c, std::move(m), false); };
  a.layout = [](const ModelConfig& m, int64_t vocab) { return layout(m, vocab, false); };
  return a;
}

ArchMap loglinear_mamba2_map() {
  ArchMap a;
  a.loglin_arch = "loglinear_mamba2";
  a.model_type = "log_linear_mamba2";
  a.hf_class = "LogLinearMamba2ForCausalLM";
  a.implementation = "fla (fla.models.LogLinearMamba2ForCausalLM)";
  a.twin_problem = loglinear_problem;
  a.config = [](const ModelConfig& m) { return config(m, true); };
  a.model_config = [](const ConfigReader& c, ModelConfig m) { return model_config(c, std::move(m), true); };
  a.layout = [](const ModelConfig& m, int64_t vocab) { return layout(m, vocab, true); };
  return a;
}

}  // namespace loglin::hf

#include "train/optim/optimizer.h"

#include <cmath>

#include "autograd/grad_mode.h"

namespace loglin::optim {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_embedding(const std::string& name) {
  return name.find("embed") != std::string::npos || name.find("wte") != std::string::npos;
}

// Raw f32 view of a parameter or gradient; optimizer math is f32 on the CPU.
float* f32_data(const Tensor& t, const std::string& name) {
  LOGLIN_CHECK(t.dtype() == DType::f32 && t.is_contiguous() && t.device().is_cpu(),
               "[optimizer] '{}' must be a contiguous f32 cpu tensor (got {} on {})", name, dtype_name(t.dtype()),
               t.device().str());
  return t.data<float>();
}

}  // namespace

std::vector<ParamGroup> decay_groups(const NamedParams& params, double weight_decay, bool decay_embeddings) {
  ParamGroup decay{{}, weight_decay}, no_decay{{}, 0.0};
  for (const auto& [name, t] : params) {
    bool ssm = ends_with(name, "A_log") || ends_with(name, "dt_bias") || ends_with(name, ".D") || name == "D" ||
               ends_with(name, "Lambda");
    bool skip = t.dim() < 2 || ssm || (!decay_embeddings && is_embedding(name));
    (skip ? no_decay : decay).params.emplace_back(name, t);
  }
  std::vector<ParamGroup> out;
  if (!decay.params.empty()) out.push_back(decay);
  if (!no_decay.params.empty()) out.push_back(no_decay);
  return out;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups) : groups_(std::move(groups)) {
  for (const auto& g : groups_)
    for (const auto& [name, t] : g.params)
      LOGLIN_CHECK(t.requires_grad(), "[optimizer] parameter '{}' does not require grad", name);
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& [_, t] : g.params) t.zero_grad();
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : Optimizer(std::move(groups)), opt_(options) {
  for (const auto& g : groups_)
    for (const auto& [name, t] : g.params) {
      m_[name] = Tensor::zeros(t.shape());
      v_[name] = Tensor::zeros(t.shape());
    }
}

void AdamW::step(double lr) {
  NoGradGuard no_grad;
  ++step_;
  const double bc1 = 1 - std::pow(opt_.beta1, static_cast<double>(step_));
  const double bc2 = 1 - std::pow(opt_.beta2, static_cast<double>(step_));
  const float b1 = static_cast<float>(opt_.beta1), b2 = static_cast<float>(opt_.beta2);
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
  const float eps = static_cast<float>(opt_.eps);
  for (auto& g : groups_) {
    const float decay = static_cast<float>(1.0 - lr * g.weight_decay);
    for (auto& [name, t] : g.params) {
      Tensor grad = t.grad();
      if (!grad.defined()) continue;
      float* p = f32_data(t, name);
      const float* gr = f32_data(grad, name + ".grad");
      float* m = m_[name].data<float>();
      float* v = v_[name].data<float>();
      const int64_t n = t.numel();
#pragma omp parallel for simd if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + (1 - b1) * gr[i];
        v[i] = b2 * v[i] + (1 - b2) * gr[i] * gr[i];
        p[i] = p[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    }
  }
}

std::map<std::string, Tensor> AdamW::state_dict() const {
  std::map<std::string, Tensor> out;
  for (const auto& [n, t] : m_) out[n + ".exp_avg"] = t;
  for (const auto& [n, t] : v_) out[n + ".exp_avg_sq"] = t;
  out["step"] = Tensor::scalar(static_cast<double>(step_), DType::i64);
  return out;
}

void AdamW::load_state_dict(const std::map<std::string, Tensor>& state) {
  auto get = [&](const std::string& key, const Tensor& like) {
    auto it = state.find(key);
    LOGLIN_CHECK(it != state.end(), "[AdamW] optimizer state lacks '{}'", key);
    LOGLIN_CHECK(it->second.shape() == like.shape(), "[AdamW] '{}' has shape {}, expected {}", key,
                 shape_str(it->second.shape()), shape_str(like.shape()));
    core::copy_into(like, it->second);
  };
  for (auto& [n, t] : m_) get(n + ".exp_avg", t);
  for (auto& [n, t] : v_) get(n + ".exp_avg_sq", t);
  auto it = state.find("step");
  LOGLIN_CHECK(it != state.end(), "[AdamW] optimizer state lacks 'step'");
  step_ = static_cast<int64_t>(it->second.item());
}

SGD::SGD(std::vector<ParamGroup> groups, double momentum) : Optimizer(std::move(groups)), momentum_(momentum) {
  LOGLIN_CHECK(momentum >= 0 && momentum < 1, "[SGD] momentum must be in [0, 1), got {}", momentum);
  for (const auto& g : groups_)
    for (const auto& [name, t] : g.params) buf_[name] = Tensor::zeros(t.shape());
}

void SGD::step(double lr) {
  NoGradGuard no_grad;
  ++step_;
  const float mu = static_cast<float>(momentum_), flr = static_cast<float>(lr);
  for (auto& g : groups_) {
    const float decay = static_cast<float>(1.0 - lr * g.weight_decay);
    for (auto& [name, t] : g.params) {
      Tensor grad = t.grad();
      if (!grad.defined()) continue;
      float* p = f32_data(t, name);
      const float* gr = f32_data(grad, name + ".grad");
      float* b = buf_[name].data<float>();
      for (int64_t i = 0, n = t.numel(); i < n; ++i) {
        b[i] = mu * b[i] + gr[i];
        p[i] = p[i] * decay - flr * b[i];
      }
    }
  }
}

std::map<std::string, Tensor> SGD::state_dict() const {
  std::map<std::string, Tensor> out;
  for (const auto& [n, t] : buf_) out[n + ".momentum"] = t;
  out["step"] = Tensor::scalar(static_cast<double>(step_), DType::i64);
  return out;
}

void SGD::load_state_dict(const std::map<std::string, Tensor>& state) {
  for (auto& [n, t] : buf_) {
    auto it = state.find(n + ".momentum");
    LOGLIN_CHECK(it != state.end(), "[SGD] optimizer state lacks '{}.momentum'", n);
    LOGLIN_CHECK(it->second.shape() == t.shape(), "[SGD] '{}.momentum' has shape {}, expected {}", n,
                 shape_str(it->second.shape()), shape_str(t.shape()));
    core::copy_into(t, it->second);
  }
  auto it = state.find("step");
  LOGLIN_CHECK(it != state.end(), "[SGD] optimizer state lacks 'step'");
  step_ = static_cast<int64_t>(it->second.item());
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  double sq = 0;
  for (const auto& t : params) {
    Tensor g = t.grad();
    if (!g.defined()) continue;
    const float* p = f32_data(g, "grad");
    for (int64_t i = 0, n = g.numel(); i < n; ++i) sq += static_cast<double>(p[i]) * p[i];
  }
  double norm = std::sqrt(sq);
  if (!std::isfinite(norm) || max_norm <= 0 || norm <= max_norm) return norm;
  const float scale = static_cast<float>(max_norm / (norm + 1e-6));
  for (const auto& t : params) {
    Tensor g = t.grad();
    if (!g.defined()) continue;
    float* p = g.data<float>();
    for (int64_t i = 0, n = g.numel(); i < n; ++i) p[i] *= scale;
  }
  return norm;
}

}  // namespace loglin::optim

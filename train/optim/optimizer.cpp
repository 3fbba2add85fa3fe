#include "train/optim/optimizer.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "train/optim/multi_tensor_cuda.h"
#if LOGLIN_WITH_CUDA
#include "train/optim/optimizer_cuda.h"
#endif

namespace loglin::optim {

struct Optimizer::CudaState {
#if LOGLIN_WITH_CUDA
  cuda::ChunkTable table;
#endif
};

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_embedding(const std::string& name) {
  return name.find("embed") != std::string::npos || name.find("wte") != std::string::npos;
}

// Raw f32 view of a parameter, gradient or state tensor, which must be on
// `where` (the parameter's device); optimizer math is f32.
float* f32_data(const Tensor& t, const std::string& name, Device where) {
  LOGLIN_CHECK(t.dtype() == DType::f32 && t.is_contiguous() && t.device() == where,
               "[optimizer] '{}' must be a contiguous f32 tensor on {} (got {}{} on {})", name, where.str(),
               dtype_name(t.dtype()), t.is_contiguous() ? "" : ", non-contiguous", t.device().str());
  return t.data<float>();
}

// The state tensor of parameter t, moved to t's device first if the model
// moved after the optimizer was built.
Tensor& state_for(std::map<std::string, Tensor>& states, const std::string& name, const Tensor& t) {
  Tensor& s = states.at(name);
  if (s.device() != t.device()) {
    Tensor moved = Tensor::empty(s.shape(), s.dtype(), t.device());
    core::copy_into(moved, s);
    s = moved;
  }
  return s;
}

// The CUDA tensors of one step, as the chunk table of one fused launch.
struct CudaBatch {
  std::vector<cuda::ParamChunk> chunks;
  int device = -1;

  void add(const cuda::ParamChunk& whole, Device d, const char* op) {
    LOGLIN_CHECK(device < 0 || device == d.index, "[{}] tensors on cuda:{} and cuda:{}: use one optimizer per device",
                 op, device, d.index);
    device = d.index;
    cuda::append_chunks(chunks, whole);
  }
  int64_t size() const { return static_cast<int64_t>(chunks.size()); }
};

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

Optimizer::~Optimizer() = default;

Optimizer::CudaState& Optimizer::cuda_state() {
  if (!cuda_) cuda_ = std::make_unique<CudaState>();
  return *cuda_;
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& [_, t] : g.params) t.zero_grad();
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : Optimizer(std::move(groups)), opt_(options) {
  for (const auto& g : groups_)
    for (const auto& [name, t] : g.params) {
      m_[name] = Tensor::zeros(t.shape(), DType::f32, t.device());
      v_[name] = Tensor::zeros(t.shape(), DType::f32, t.device());
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
  CudaBatch on_cuda;
  for (auto& g : groups_) {
    const float decay = static_cast<float>(1.0 - lr * g.weight_decay);
    for (auto& [name, t] : g.params) {
      Tensor grad = t.grad();
      if (!grad.defined()) continue;
      const Device dev = t.device();
      float* p = f32_data(t, name, dev);
      float* gr = f32_data(grad, name + ".grad", dev);
      float* m = f32_data(state_for(m_, name, t), name + ".exp_avg", dev);
      float* v = f32_data(state_for(v_, name, t), name + ".exp_avg_sq", dev);
      const int64_t n = t.numel();
      if (dev.is_cuda()) {
        on_cuda.add({p, gr, m, v, n, g.weight_decay}, dev, "AdamW");
        continue;
      }
#pragma omp parallel for simd if (n > (1 << 16))
      for (int64_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + (1 - b1) * gr[i];
        v[i] = b2 * v[i] + (1 - b2) * gr[i] * gr[i];
        p[i] = p[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
      }
    }
  }
#if LOGLIN_WITH_CUDA
  if (on_cuda.size() > 0) {
    const cuda::ParamChunk* table = cuda_state().table.upload(on_cuda.chunks, on_cuda.device, "AdamW");
    cuda::adamw_step(table, on_cuda.size(), {lr, b1, b2, step_size, inv_sqrt_bc2, eps}, on_cuda.device);
  }
#endif
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
    for (const auto& [name, t] : g.params) buf_[name] = Tensor::zeros(t.shape(), DType::f32, t.device());
}

void SGD::step(double lr) {
  NoGradGuard no_grad;
  ++step_;
  const float mu = static_cast<float>(momentum_), flr = static_cast<float>(lr);
  CudaBatch on_cuda;
  for (auto& g : groups_) {
    const float decay = static_cast<float>(1.0 - lr * g.weight_decay);
    for (auto& [name, t] : g.params) {
      Tensor grad = t.grad();
      if (!grad.defined()) continue;
      const Device dev = t.device();
      float* p = f32_data(t, name, dev);
      float* gr = f32_data(grad, name + ".grad", dev);
      float* b = f32_data(state_for(buf_, name, t), name + ".momentum", dev);
      if (dev.is_cuda()) {
        on_cuda.add({p, gr, b, nullptr, t.numel(), g.weight_decay}, dev, "SGD");
        continue;
      }
      for (int64_t i = 0, n = t.numel(); i < n; ++i) {
        b[i] = mu * b[i] + gr[i];
        p[i] = p[i] * decay - flr * b[i];
      }
    }
  }
#if LOGLIN_WITH_CUDA
  if (on_cuda.size() > 0) {
    const cuda::ParamChunk* table = cuda_state().table.upload(on_cuda.chunks, on_cuda.device, "SGD");
    cuda::sgd_step(table, on_cuda.size(), lr, mu, on_cuda.device);
  }
#endif
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
  std::vector<Tensor> on_cpu;
  CudaBatch on_cuda;
  for (const auto& t : params) {
    Tensor g = t.grad();
    if (!g.defined()) continue;
    float* p = f32_data(g, "grad", g.device());
    if (g.device().is_cuda()) {
      on_cuda.add({nullptr, p, nullptr, nullptr, g.numel(), 0.0}, g.device(), "clip_grad_norm");
      continue;
    }
    on_cpu.push_back(g);
    for (int64_t i = 0, n = g.numel(); i < n; ++i) sq += static_cast<double>(p[i]) * p[i];
  }
#if LOGLIN_WITH_CUDA
  // Per thread, as the table's owner must not upload while another thread's
  // launch still reads its staging buffer.
  thread_local cuda::ChunkTable clip_table;
  const cuda::ParamChunk* table = nullptr;
  if (on_cuda.size() > 0) {
    table = clip_table.upload(on_cuda.chunks, on_cuda.device, "clip_grad_norm");
    sq += cuda::grad_sum_of_squares(table, on_cuda.size(), on_cuda.device);
  }
#endif
  double norm = std::sqrt(sq);
  if (!std::isfinite(norm) || max_norm <= 0 || norm <= max_norm) return norm;
  const float scale = static_cast<float>(max_norm / (norm + 1e-6));
  for (const auto& g : on_cpu) {
    float* p = g.data<float>();
    for (int64_t i = 0, n = g.numel(); i < n; ++i) p[i] *= scale;
  }
#if LOGLIN_WITH_CUDA
  if (table) cuda::scale_grads(table, on_cuda.size(), scale, on_cuda.device);
#endif
  return norm;
}

}  // namespace loglin::optim

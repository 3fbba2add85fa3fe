#include "nn/module.h"

#include <fmt/format.h>

#include "autograd/grad_mode.h"
#include "ops/shape/view_ops.h"

namespace loglin::nn {
namespace {

// Replaces the data a tensor handle refers to, keeping the handle (and every
// copy of it) valid: what libtorch calls set_data.
void assign_data(const Tensor& dst, const Tensor& src) {
  TensorImpl& d = dst.impl();
  const TensorImpl& s = src.impl();
  d.storage = s.storage;
  d.shape = s.shape;
  d.strides = s.strides;
  d.offset = s.offset;
  d.dtype = s.dtype;
  d.grad = nullptr;
}

void collect(const Module& m, const std::string& prefix, bool recurse, bool buffers,
             std::vector<std::pair<std::string, Tensor>>& out) {
  for (const auto& [n, t] : buffers ? m.named_buffers(false) : m.named_parameters(false)) out.emplace_back(prefix + n, t);
  if (!recurse) return;
  for (const auto& [n, c] : m.named_children()) collect(*c, prefix + n + ".", true, buffers, out);
}

}  // namespace

void Module::check_new_name(const std::string& name) const {
  LOGLIN_CHECK(!name.empty() && name.find('.') == std::string::npos,
               "[Module] name '{}' must be non-empty and contain no '.'", name);
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  LOGLIN_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), "[Module] name '{}' is already registered",
               name);
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_new_name(name);
  LOGLIN_CHECK(t.defined(), "[Module] parameter '{}' is undefined", name);
  LOGLIN_CHECK(t.is_leaf(), "[Module] parameter '{}' must be a leaf tensor (detach() it first)", name);
  t.set_requires_grad(requires_grad);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  LOGLIN_CHECK(t.defined(), "[Module] buffer '{}' is undefined", name);
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  LOGLIN_CHECK(m != nullptr, "[Module] submodule '{}' is null", name);
  children_.emplace_back(name, std::move(m));
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  if (!recurse) return params_;
  std::vector<std::pair<std::string, Tensor>> out;
  collect(*this, "", true, false, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  if (!recurse) return buffers_;
  std::vector<std::pair<std::string, Tensor>> out;
  collect(*this, "", true, true, out);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (auto& [n, c] : children_) {
    std::string full = prefix.empty() ? n : prefix + "." + n;
    out.emplace_back(full, c);
    for (auto& sub : c->named_modules(full)) out.push_back(sub);
  }
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, c] : children_) c->train(on);
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (auto& [_, t] : named_parameters()) assign_data(t, to_device(t.detach(), device));
  for (auto& [_, t] : named_buffers()) assign_data(t, to_device(t.detach(), device));
}

void Module::to(DType dtype) {
  LOGLIN_CHECK(is_floating(dtype), "[Module] to({}) : modules convert to floating dtypes only", dtype_name(dtype));
  NoGradGuard no_grad;
  for (auto& [_, t] : named_parameters()) assign_data(t, to_dtype(t.detach(), dtype));
  for (auto& [_, t] : named_buffers())
    if (is_floating(t.dtype())) assign_data(t, to_dtype(t.detach(), dtype));
}

void Module::zero_grad() {
  for (auto& [_, t] : named_parameters()) t.zero_grad();
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [n, t] : named_parameters()) out[n] = t.detach();
  for (auto& [n, t] : named_buffers()) out[n] = t.detach();
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  std::map<std::string, Tensor> mine = state_dict();
  std::vector<std::string> missing, unexpected;
  for (const auto& [n, _] : mine)
    if (!state.count(n)) missing.push_back(n);
  for (const auto& [n, _] : state)
    if (!mine.count(n)) unexpected.push_back(n);
  if (strict && (!missing.empty() || !unexpected.empty())) {
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (size_t i = 0; i < v.size() && i < 8; ++i) s += (i ? ", " : "") + v[i];
      if (v.size() > 8) s += fmt::format(", ... ({} in all)", v.size());
      return s.empty() ? std::string("none") : s;
    };
    LOGLIN_FAIL("[load_state_dict] keys differ: missing {}; unexpected {}", join(missing), join(unexpected));
  }
  // Check every shape before copying anything, so a failed load changes nothing.
  for (const auto& [n, t] : mine) {
    auto it = state.find(n);
    if (it == state.end()) continue;
    LOGLIN_CHECK(it->second.shape() == t.shape(), "[load_state_dict] '{}' has shape {} in the state but {} in the model",
                 n, shape_str(it->second.shape()), shape_str(t.shape()));
  }
  NoGradGuard no_grad;
  for (const auto& [n, t] : mine) {
    auto it = state.find(n);
    if (it != state.end()) core::copy_into(t, it->second);
  }
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [_, t] : named_parameters()) n += t.numel();
  return n;
}

std::string Module::summary() const {
  auto params = named_parameters();
  size_t w = 9;
  for (auto& [n, _] : params) w = std::max(w, n.size());
  std::string out = fmt::format("{:<{}}  {:<18}  {:>12}\n", "parameter", w, "shape", "count");
  for (auto& [n, t] : params) out += fmt::format("{:<{}}  {:<18}  {:>12}\n", n, w, shape_str(t.shape()), t.numel());
  out += fmt::format("{:<{}}  {:<18}  {:>12}\n", "total", w, "", num_parameters());
  return out;
}

}  // namespace loglin::nn

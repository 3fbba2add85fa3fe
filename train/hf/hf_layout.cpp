#include "train/hf/hf_layout.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/tensor.h"

namespace loglin::hf {
namespace {

int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Tensor cpu_f32(const Tensor& t) {
  Tensor c = t.device().is_cpu() ? t : t.to(Device::cpu());
  if (c.dtype() != DType::f32 || !c.is_contiguous()) c = core::contiguous_copy(c, DType::f32);
  return c;
}

// Each loglin tensor's rows must be used exactly once by the entries that
// are not duplicates: a table that forgets or repeats a row is a bug here,
// not a problem of the user's files.
void check_coverage(const Layout& layout, const std::map<std::string, Shape>& loglin) {
  std::map<std::string, std::vector<int>> used;
  for (const auto& [name, shape] : loglin) used[name].assign(0, 0);
  for (const HfTensor& t : layout.tensors) {
    const int64_t hf_rows = numel_of(t.shape) / t.width;
    LOGLIN_CHECK(numel_of(t.shape) % t.width == 0, "[hf] internal: {} of shape {} is not rows of width {}", t.name,
                 shape_str(t.shape), t.width);
    for (const RowCopy& c : t.copies) {
      auto it = loglin.find(c.loglin);
      LOGLIN_CHECK(it != loglin.end(), "[hf] internal: {} reads loglin tensor '{}', which this model does not have",
                   t.name, c.loglin);
      const int64_t n = numel_of(it->second);
      LOGLIN_CHECK(n % t.width == 0, "[hf] internal: loglin tensor '{}' of shape {} is not rows of width {}", c.loglin,
                   shape_str(it->second), t.width);
      const int64_t rows = n / t.width;
      LOGLIN_CHECK(c.loglin_row >= 0 && c.rows >= 0 && c.loglin_row + c.rows <= rows && c.hf_row >= 0 &&
                       c.hf_row + c.rows <= hf_rows,
                   "[hf] internal: {} copies rows {}..{} of '{}' ({} rows) to rows {}..{} ({} rows)", t.name,
                   c.loglin_row, c.loglin_row + c.rows, c.loglin, rows, c.hf_row, c.hf_row + c.rows, hf_rows);
      if (t.duplicate) continue;
      std::vector<int>& u = used[c.loglin];
      if (u.empty()) u.assign(static_cast<size_t>(rows), 0);
      for (int64_t r = c.loglin_row; r < c.loglin_row + c.rows; ++r) ++u[static_cast<size_t>(r)];
    }
  }
  for (const auto& [name, u] : used) {
    const auto bad = std::find_if(u.begin(), u.end(), [](int k) { return k != 1; });
    LOGLIN_CHECK(!u.empty() && bad == u.end(), "[hf] internal: row {} of loglin tensor '{}' is used {} times (once wanted)",
                 u.empty() ? 0 : bad - u.begin(), name, u.empty() ? 0 : *bad);
  }
}

std::map<std::string, Shape> shapes_of(const TensorMap& m) {
  std::map<std::string, Shape> out;
  for (const auto& [k, v] : m) out[k] = v.shape();
  return out;
}

bool ignored(const Layout& layout, const std::string& name) {
  for (const std::string& s : layout.ignored_suffixes)
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  return false;
}

}  // namespace

TensorMap to_hf(const Layout& layout, const TensorMap& loglin) {
  check_coverage(layout, shapes_of(loglin));
  std::map<std::string, Tensor> src;
  for (const auto& [k, v] : loglin) src[k] = cpu_f32(v);
  TensorMap out;
  for (const HfTensor& t : layout.tensors) {
    Tensor h = Tensor::full(t.shape, t.fill, DType::f32);
    float* dst = h.data<float>();
    for (const RowCopy& c : t.copies) {
      const float* s = src.at(c.loglin).data<float>();
      std::memcpy(dst + c.hf_row * t.width, s + c.loglin_row * t.width, sizeof(float) * c.rows * t.width);
    }
    LOGLIN_CHECK(out.emplace(t.name, h).second, "[hf] internal: two entries named {}", t.name);
  }
  return out;
}

TensorMap from_hf(const Layout& layout, const TensorMap& hf, const TensorMap& want, DType dtype,
                  const std::string& where) {
  check_coverage(layout, shapes_of(want));
  const char* dname = safetensors_dtype_name(dtype);
  std::set<std::string> known;
  for (const HfTensor& t : layout.tensors) known.insert(t.name);
  for (const auto& [name, _] : hf)
    LOGLIN_CHECK(known.count(name) || ignored(layout, name),
                 "[import] {}: unexpected tensor '{}': the loglin model this config describes has no parameter it "
                 "maps to",
                 where, name);

  TensorMap out;
  for (const auto& [name, t] : want) out[name] = Tensor::zeros(t.shape(), DType::f32);
  for (const HfTensor& t : layout.tensors) {
    auto it = hf.find(t.name);
    if (it == hf.end()) {
      LOGLIN_CHECK(t.duplicate, "[import] {}: missing tensor '{}' (expected {} {})", where, t.name, dname,
                   shape_str(t.shape));
      continue;
    }
    const Tensor& h = it->second;
    LOGLIN_CHECK(h.shape() == t.shape, "[import] {}: tensor '{}' has shape {}, expected {}", where, t.name,
                 shape_str(h.shape()), shape_str(t.shape));
    LOGLIN_CHECK(h.dtype() == dtype, "[import] {}: tensor '{}' is {}, but config.json's torch_dtype says {}", where,
                 t.name, safetensors_dtype_name(h.dtype()), dname);
    Tensor f = cpu_f32(h);  // bf16 -> f32 is exact
    const float* s = f.data<float>();
    const int64_t rows = h.numel() / t.width;
    std::vector<char> covered(static_cast<size_t>(rows), 0);
    for (const RowCopy& c : t.copies) {
      float* d = out.at(c.loglin).data<float>();
      const size_t bytes = sizeof(float) * c.rows * t.width;
      if (t.duplicate) {
        LOGLIN_CHECK(std::memcmp(d + c.loglin_row * t.width, s + c.hf_row * t.width, bytes) == 0,
                     "[import] {}: tensor '{}' differs from '{}', but config.json ties them (tie_word_embeddings: "
                     "true)",
                     where, t.name, c.loglin);
      } else {
        std::memcpy(d + c.loglin_row * t.width, s + c.hf_row * t.width, bytes);
      }
      std::fill(covered.begin() + c.hf_row, covered.begin() + c.hf_row + c.rows, 1);
    }
    // Rows loglin has no place for must hold the fill value, or dropping them
    // would change the model.
    for (int64_t r = 0; r < rows; ++r) {
      if (covered[static_cast<size_t>(r)]) continue;
      for (int64_t j = 0; j < t.width; ++j)
        LOGLIN_CHECK(s[r * t.width + j] == t.fill,
                     "[import] {}: tensor '{}' row {} holds {} where loglin needs {} (a part of the model, such as a "
                     "level beyond model.max_seq_len, that loglin's layer does not have)",
                     where, t.name, r, s[r * t.width + j], t.fill);
    }
  }
  return out;
}

Layout identity_layout(const TensorMap& loglin) {
  Layout l;
  for (const auto& [name, t] : loglin) {
    HfTensor h;
    h.name = name;
    h.shape = t.shape();
    h.width = 1;
    h.copies.push_back({name, 0, 0, t.numel()});
    l.tensors.push_back(std::move(h));
  }
  return l;
}

}  // namespace loglin::hf

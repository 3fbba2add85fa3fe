#include "core/tensor.h"

#include <cmath>
#include <cstring>
#include <ostream>
#include <sstream>

#include "core/cuda_copy.h"
#include "core/cuda_memory.h"
#include "core/strided_layout.h"
#include "core/dispatch.h"
#include "core/strided_loop.h"

namespace loglin {

TensorImpl& Tensor::impl() const {
  LOGLIN_CHECK(impl_ != nullptr, "[tensor] use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) LOGLIN_CHECK(d >= 0, "[empty] negative dimension in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (device.is_cuda()) {
    cuda::fill_zero(t.raw_data(), static_cast<size_t>(t.numel()) * dtype_size(dtype), device.index);
    return t;
  }
  std::memset(t.raw_data(), 0, static_cast<size_t>(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  core::fill(t, value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  dispatch_all(dtype, [&]<class T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, bf16>) {
        p[i] = bf16(static_cast<float>(i));
      } else {
        p[i] = static_cast<T>(i);  // exact for integers; no trip through float (2^24 + 1 is not a float)
      }
    }
  });
  return t;
}

double Tensor::item() const {
  LOGLIN_CHECK(numel() == 1, "[item] needs a tensor with one element, got shape {}", shape_str(shape()));
  return to_vector<double>()[0];
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, dim(), "size")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape()[i] == 1) continue;
    if (strides()[i] != expected) return false;
    expected *= shape()[i];
  }
  return true;
}

bool Tensor::shares_storage_with(const Tensor& other) const {
  return defined() && other.defined() && impl().storage == other.impl().storage;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * static_cast<int64_t>(dtype_size(dtype()));
}

namespace {

template <class T>
void format_value(std::ostringstream& os, T v) {
  if constexpr (std::is_same_v<T, bf16>) {
    os << static_cast<float>(v);
  } else {
    os << v;
  }
}

void format_rec(std::ostringstream& os, const Tensor& c, int64_t d, int64_t& pos, int64_t& printed, int64_t limit) {
  const Shape& s = c.shape();
  if (d == c.dim()) {
    dispatch_all(c.dtype(), [&]<class T>() { format_value(os, c.data<T>()[pos]); });
    ++pos;
    ++printed;
    return;
  }
  os << "[";
  for (int64_t i = 0; i < s[d]; ++i) {
    if (printed >= limit) {
      os << "...";
      pos += shape_numel(Shape(s.begin() + d, s.end())) / s[d] * (s[d] - i);
      break;
    }
    if (i) os << (d + 1 == c.dim() ? ", " : ",\n ");
    format_rec(os, c, d + 1, pos, printed, limit);
  }
  os << "]";
}

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os.precision(6);
  os << "Tensor(shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype()) << ", device=" << device().str();
  if (requires_grad()) os << ", requires_grad";
  os << ")\n";
  Tensor c = Tensor::empty(shape(), dtype());  // on the cpu, whatever the device
  core::copy_into(c, *this);
  int64_t pos = 0, printed = 0;
  format_rec(os, c, 0, pos, printed, 64);
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

namespace core {

Tensor as_strided(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  LOGLIN_CHECK(shape.size() == strides.size(), "[as_strided] shape {} and strides {} differ in rank", shape_str(shape),
               shape_str(strides));
  int64_t lo = offset, hi = offset;
  bool empty = false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) empty = true;
    if (shape[i] > 0) {
      int64_t span = (shape[i] - 1) * strides[i];
      if (span < 0) lo += span; else hi += span;
    }
  }
  int64_t capacity = static_cast<int64_t>(base.impl().storage->nbytes() / dtype_size(base.dtype()));
  LOGLIN_CHECK(empty || (lo >= 0 && hi < capacity), "[as_strided] view {} strides {} offset {} reaches outside storage of {} elements",
               shape_str(shape), shape_str(strides), offset, capacity);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.impl().storage;
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(std::move(impl));
}

Tensor contiguous_copy(const Tensor& base) { return contiguous_copy(base, base.dtype()); }

Tensor contiguous_copy(const Tensor& base, DType dtype) {
  Tensor out = Tensor::empty(base.shape(), dtype, base.device());
  copy_into(out, base);
  return out;
}

namespace {
template <class To, class From>
inline To convert_value(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bf16>) {
    return bf16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<From, bf16>) {
    return static_cast<To>(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}
}  // namespace

namespace {

size_t byte_size(const Tensor& t) { return static_cast<size_t>(t.numel()) * dtype_size(t.dtype()); }

// Copies that involve a CUDA tensor. On one device any re-striding,
// broadcast or conversion runs as a kernel; between host and device whole
// contiguous buffers move and the rest happens on the side that has kernels.
void copy_on_device(const Tensor& dst, const Tensor& src) {
  LOGLIN_CHECK(src.device() == dst.device(), "[copy] copies between two GPUs ({} -> {}) are not supported yet",
               src.device().str(), dst.device().str());
  LOGLIN_CHECK(src.shape() == dst.shape() || broadcast_shapes(src.shape(), dst.shape(), "copy") == dst.shape(),
               "[copy] cannot copy shape {} into shape {}", shape_str(src.shape()), shape_str(dst.shape()));
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape()) {
    cuda::copy_device_to_device(dst.raw_data(), src.raw_data(), byte_size(dst), dst.device().index);
    return;
  }
  Shape src_strides = src.shape() == dst.shape() ? src.strides()
                                                 : broadcast_strides(src.shape(), src.strides(), dst.shape());
  auto layouts = merged_layouts(dst.shape(), {dst.strides(), src_strides}, "copy");
  cuda::copy_strided(dst.raw_data(), dst.dtype(), layouts[0], src.raw_data(), src.dtype(), layouts[1], dst.numel(),
                     dst.device().index);
}

void copy_across_devices(const Tensor& dst, const Tensor& src) {
  if (src.device().is_cuda() && dst.device().is_cuda()) {
    copy_on_device(dst, src);
    return;
  }
  LOGLIN_CHECK(src.shape() == dst.shape(), "[copy] cannot copy shape {} on {} into shape {} on {}",
               shape_str(src.shape()), src.device().str(), shape_str(dst.shape()), dst.device().str());
  if (dst.device().is_cuda()) {
    if (dst.is_contiguous()) {
      Tensor host = src.dtype() == dst.dtype() && src.is_contiguous() ? src : contiguous_copy(src, dst.dtype());
      cuda::copy_host_to_device(dst.raw_data(), host.raw_data(), byte_size(dst), dst.device().index);
    } else {
      Tensor staged = Tensor::empty(src.shape(), src.dtype(), dst.device());
      copy_across_devices(staged, src);
      copy_on_device(dst, staged);
    }
    return;
  }
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    cuda::copy_device_to_host(dst.raw_data(), src.raw_data(), byte_size(dst), src.device().index);
    return;
  }
  Tensor packed = src;
  if (!src.is_contiguous()) {
    packed = Tensor::empty(src.shape(), src.dtype(), src.device());
    copy_on_device(packed, src);
  }
  Tensor host = Tensor::empty(src.shape(), src.dtype());
  cuda::copy_device_to_host(host.raw_data(), packed.raw_data(), byte_size(host), src.device().index);
  copy_into(dst, host);
}

}  // namespace

void copy_into(const Tensor& dst, const Tensor& src) {
  if (dst.device().is_cuda() || src.device().is_cuda()) {
    copy_across_devices(dst, src);
    return;
  }
  // Check before computing broadcast strides: a source with more dims than
  // the destination must be an error, not an out-of-bounds write.
  LOGLIN_CHECK(src.shape() == dst.shape() || broadcast_shapes(src.shape(), dst.shape(), "copy") == dst.shape(),
               "[copy] cannot copy shape {} into shape {}", shape_str(src.shape()), shape_str(dst.shape()));
  Shape src_strides = src.shape() == dst.shape() ? src.strides()
                                                 : broadcast_strides(src.shape(), src.strides(), dst.shape());
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous() && src.shape() == dst.shape()) {
    std::memcpy(dst.raw_data(), src.raw_data(), static_cast<size_t>(dst.numel()) * dtype_size(dst.dtype()));
    return;
  }
  dispatch_all(dst.dtype(), [&]<class D>() {
    dispatch_all(src.dtype(), [&]<class S>() {
      D* d = dst.data<D>();
      const S* s = src.data<S>();
      strided_loop<2>(dst.shape(), {&dst.strides(), &src_strides},
                      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& step) {
                        D* dp = d + off[0];
                        const S* sp = s + off[1];
                        for (int64_t i = 0; i < n; ++i) dp[i * step[0]] = convert_value<D>(sp[i * step[1]]);
                      });
    });
  });
}

void fill(const Tensor& dst, double value) {
  if (dst.device().is_cuda()) {
    auto layouts = merged_layouts(dst.shape(), {dst.strides()}, "fill");
    cuda::fill(dst.raw_data(), dst.dtype(), layouts[0], value, dst.numel(), dst.device().index);
    return;
  }
  dispatch_all(dst.dtype(), [&]<class D>() {
    D v = convert_value<D>(value);
    D* d = dst.data<D>();
    strided_loop<1>(dst.shape(), {&dst.strides()},
                    [&](const std::array<int64_t, 1>& off, int64_t n, const std::array<int64_t, 1>& step) {
                      for (int64_t i = 0; i < n; ++i) d[off[0] + i * step[0]] = v;
                    });
  });
}

Shape infer_shape(const Shape& requested, int64_t numel, const char* op) {
  Shape out = requested;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      LOGLIN_CHECK(infer_at < 0, "[{}] only one dimension can be -1 in {}", op, shape_str(requested));
      infer_at = static_cast<int64_t>(i);
    } else {
      LOGLIN_CHECK(out[i] >= 0, "[{}] invalid dimension {} in {}", op, out[i], shape_str(requested));
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    LOGLIN_CHECK(known > 0 && numel % known == 0, "[{}] cannot infer -1 in {} for {} elements", op,
                 shape_str(requested), numel);
    out[infer_at] = numel / known;
  }
  LOGLIN_CHECK(shape_numel(out) == numel, "[{}] shape {} has {} elements but the tensor has {}", op,
               shape_str(requested), shape_numel(out), numel);
  return out;
}

std::optional<Shape> view_strides(const Tensor& t, const Shape& shape) {
  // Groups old dims into runs that are contiguous with each other; each run
  // can be re-split freely. Same rule as numpy/torch's "computeStride".
  const Shape& os = t.shape();
  const Shape& ost = t.strides();
  Shape ns(shape.size());
  if (t.numel() == 0 || os.empty()) {
    return contiguous_strides(shape);
  }
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = ost.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(os.size()) - 1; d >= 0; --d) {
    tensor_numel *= os[d];
    if (d == 0 || (os[d - 1] != 1 && ost[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        ns[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = ost[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return ns;
}

}  // namespace core
}  // namespace loglin

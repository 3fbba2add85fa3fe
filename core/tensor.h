// Tensor: a view (shape, strides in elements, offset) over shared Storage.
//
// Layers: this header belongs to core, which knows nothing of autograd. The
// autograd fields below are opaque to core (a forward-declared Node); the
// member functions that need autograd or ops are declared here, as libtorch's
// Tensor does, and defined in autograd/ and ops/ (see the comments on each
// group). Copying a Tensor copies a handle: both refer to the same data.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace loglin {

namespace autograd {
class Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;  // in elements
  DType dtype = DType::f32;

  // Autograd state, used by autograd/ only.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;
  uint32_t output_nr = 0;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation (core) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor scalar(double value, DType dtype = DType::f32);
  static Tensor arange(int64_t n, DType dtype = DType::i64);
  // Copies `data` (row-major) into a new tensor of `shape`; dtype follows T.
  template <class T>
  static Tensor from_vector(const std::vector<T>& data, const Shape& shape);
  // Reads the elements in row-major order, converting to T.
  template <class T>
  std::vector<T> to_vector() const;
  double item() const;  // the one element of a 1-element tensor, as double

  // ---- metadata (core) ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const { return impl().strides; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;
  int64_t offset() const { return impl().offset; }
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;
  bool shares_storage_with(const Tensor& other) const;
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::string str() const;  // shape, dtype and (up to a limit) values

  // Pointer to the first element (offset applied). data<T>() checks T.
  void* raw_data() const;
  template <class T>
  T* data() const;

  // ---- autograd (defined in autograd/tensor_autograd.cpp) ----
  bool requires_grad() const;
  Tensor& set_requires_grad(bool on = true);  // leaves only
  bool is_leaf() const;
  Tensor grad() const;  // undefined until a backward reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the accumulated gradient
  // Back-propagates from this tensor. A scalar needs no gradient argument.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same data, no history
  std::shared_ptr<autograd::Node> grad_fn() const;

  // ---- differentiable views and conversions (defined in ops/tensor_methods.cpp) ----
  Tensor reshape(const Shape& shape) const;  // view when the strides allow, else a copy
  Tensor view(const Shape& shape) const;     // always a view; error if impossible
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;  // drops `dim`
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor expand(const Shape& shape) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor sum(const Shape& dims = {}, bool keepdim = false) const;  // {} = all dims
  Tensor mean(const Shape& dims = {}, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- raw tensor plumbing (core; no autograd) ----
namespace core {
// A view of `base`'s storage with the given geometry. Checks the bounds.
Tensor as_strided(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
// A new contiguous tensor with base's values, in `dtype`.
Tensor contiguous_copy(const Tensor& base, DType dtype);
Tensor contiguous_copy(const Tensor& base);
// dst[...] = src[...] elementwise (same shape; src may be broadcast-strided;
// dtypes converted).
void copy_into(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, double value);
// Strides for viewing `t` as `shape` without a copy, or nullopt if impossible.
std::optional<Shape> view_strides(const Tensor& t, const Shape& shape);
// Resolves one -1 in a requested shape against numel; errors name `op`.
Shape infer_shape(const Shape& requested, int64_t numel, const char* op);
}  // namespace core

// ---- template definitions ----
template <class T>
T* Tensor::data() const {
  LOGLIN_CHECK(dtype_of<T>::value == dtype(), "[tensor] data<{}>() on a {} tensor", dtype_name(dtype_of<T>::value),
               dtype_name(dtype()));
  return static_cast<T*>(raw_data());
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& data, const Shape& shape) {
  LOGLIN_CHECK(static_cast<int64_t>(data.size()) == shape_numel(shape),
               "[from_vector] {} values given for shape {} ({} elements)", data.size(), shape_str(shape),
               shape_numel(shape));
  Tensor t = empty(shape, dtype_of<T>::value);
  std::copy(data.begin(), data.end(), t.data<T>());
  return t;
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = Tensor::empty(shape(), dtype_of<T>::value);  // on the cpu, whatever the device
  core::copy_into(c, *this);
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

}  // namespace loglin

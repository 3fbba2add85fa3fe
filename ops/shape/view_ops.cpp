#include "ops/shape/view_ops.h"

#include "autograd/node.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"

namespace loglin {
namespace {

// Gradient of a strided view: a zero tensor shaped like the base with g
// written through the same view geometry (relative to the base's layout).
Tensor scatter_into_zeros(const Tensor& g, const Shape& base_shape, DType dtype, const Shape& view_shape,
                          const Shape& view_strides, int64_t view_offset) {
  Tensor dx = Tensor::zeros(base_shape, dtype, g.device());
  Tensor window = core::as_strided(dx, view_shape, view_strides, view_offset);
  core::copy_into(window, g);
  return dx;
}

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) {
  check_defined("view", {&x});
  Shape target = core::infer_shape(shape, x.numel(), "view");
  auto st = core::view_strides(x, target);
  LOGLIN_CHECK(st.has_value(),
               "[view] cannot view shape {} (strides {}) as {} without a copy; use reshape() or contiguous() first",
               shape_str(x.shape()), shape_str(x.strides()), shape_str(target));
  Tensor out = core::as_strided(x, target, *st, x.offset());
  autograd::record("view", {x}, {out}, [in = x.shape()](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{reshape(ctx.grads[0], in)};
  });
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined("reshape", {&x});
  Shape target = core::infer_shape(shape, x.numel(), "reshape");
  if (core::view_strides(x, target)) return view(x, target);
  return view(contiguous(x), target);
}

Tensor permute(const Tensor& x, const Shape& dims) {
  check_defined("permute", {&x});
  LOGLIN_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), "[permute] {} dims given for a tensor with {} dims",
               dims.size(), x.dim());
  Shape shape(dims.size()), strides(dims.size()), inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = normalize_dim(dims[i], x.dim(), "permute");
    LOGLIN_CHECK(inverse[d] < 0, "[permute] dim {} appears twice in {}", d, shape_str(dims));
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = x.shape()[d];
    strides[i] = x.strides()[d];
  }
  Tensor out = core::as_strided(x, shape, strides, x.offset());
  autograd::record("permute", {x}, {out}, [inverse](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{permute(ctx.grads[0], inverse)};
  });
  return out;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  check_defined("transpose", {&x});
  Shape dims(x.dim());
  for (int64_t i = 0; i < x.dim(); ++i) dims[i] = i;
  std::swap(dims[normalize_dim(d0, x.dim(), "transpose")], dims[normalize_dim(d1, x.dim(), "transpose")]);
  return permute(x, dims);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check_defined("slice", {&x});
  int64_t d = normalize_dim(dim, x.dim(), "slice");
  LOGLIN_CHECK(step > 0, "[slice] step must be positive, got {}", step);
  const int64_t n = x.shape()[d];
  auto clamp = [n](int64_t i) { return std::clamp(i < 0 ? i + n : i, int64_t{0}, n); };
  start = clamp(start);
  end = std::max(clamp(end), start);
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] = x.strides()[d] * step;
  int64_t offset = x.offset() + start * x.strides()[d];
  Tensor out = core::as_strided(x, shape, strides, offset);
  autograd::record("slice", {x}, {out},
                   [in = x.shape(), dtype = x.dtype(), shape, d, start, step](autograd::BackwardContext& ctx) {
                     Shape base_strides = contiguous_strides(in);
                     Shape vs = base_strides;
                     vs[d] *= step;
                     return std::vector<Tensor>{
                         scatter_into_zeros(ctx.grads[0], in, dtype, shape, vs, start * base_strides[d])};
                   });
  return out;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  check_defined("narrow", {&x});
  int64_t d = normalize_dim(dim, x.dim(), "narrow");
  LOGLIN_CHECK(start >= 0 && length >= 0 && start + length <= x.shape()[d],
               "[narrow] range [{}, {}) is outside dim {} of size {}", start, start + length, dim, x.shape()[d]);
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  check_defined("select", {&x});
  int64_t d = normalize_dim(dim, x.dim(), "select");
  const int64_t n = x.shape()[d];
  LOGLIN_CHECK(index >= -n && index < n, "[select] index {} out of range for dim {} of size {}", index, dim, n);
  if (index < 0) index += n;
  return squeeze(narrow(x, d, index, 1), d);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  check_defined("unsqueeze", {&x});
  int64_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  shape.insert(shape.begin() + d, 1);
  return view(x, shape);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  check_defined("squeeze", {&x});
  int64_t d = normalize_dim(dim, x.dim(), "squeeze");
  LOGLIN_CHECK(x.shape()[d] == 1, "[squeeze] dim {} has size {}, not 1", dim, x.shape()[d]);
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = core::as_strided(x, shape, strides, x.offset());
  autograd::record("squeeze", {x}, {out}, [in = x.shape()](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{reshape(ctx.grads[0], in)};
  });
  return out;
}

Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined("expand", {&x});
  LOGLIN_CHECK(static_cast<int64_t>(shape.size()) >= x.dim(), "[expand] cannot expand shape {} to fewer dims {}",
               shape_str(x.shape()), shape_str(shape));
  Shape target = shape;
  const int64_t lead = static_cast<int64_t>(shape.size()) - x.dim();
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (target[i] == -1) {
      LOGLIN_CHECK(i >= lead, "[expand] -1 is not allowed for a new leading dim in {}", shape_str(shape));
      target[i] = x.shape()[i - lead];
    }
    LOGLIN_CHECK(target[i] >= 0, "[expand] invalid size {} in {}", target[i], shape_str(shape));
    if (i >= lead)
      LOGLIN_CHECK(x.shape()[i - lead] == target[i] || x.shape()[i - lead] == 1,
                   "[expand] cannot expand shape {} to {} (dim {}: {} is not 1)", shape_str(x.shape()),
                   shape_str(target), i, x.shape()[i - lead]);
  }
  if (target == x.shape()) return x;
  Shape strides = broadcast_strides(x.shape(), x.strides(), target);
  Tensor out = core::as_strided(x, target, strides, x.offset());
  autograd::record("expand", {x}, {out}, [in = x.shape()](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{sum_to_shape(ctx.grads[0], in)};
  });
  return out;
}

Tensor contiguous(const Tensor& x) {
  check_defined("contiguous", {&x});
  if (x.is_contiguous()) return x;
  return clone(x);
}

Tensor clone(const Tensor& x) {
  check_defined("clone", {&x});
  Tensor out = core::contiguous_copy(x);
  autograd::record("clone", {x}, {out}, [](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{ctx.grads[0]};
  });
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  check_defined("to", {&x});
  if (x.dtype() == dtype) return x;
  Tensor out = core::contiguous_copy(x, dtype);
  if (is_floating(dtype) && is_floating(x.dtype())) {
    autograd::record("to_dtype", {x}, {out}, [from = x.dtype()](autograd::BackwardContext& ctx) {
      return std::vector<Tensor>{to_dtype(ctx.grads[0], from)};
    });
  }
  return out;
}

Tensor to_device(const Tensor& x, Device device) {
  check_defined("to", {&x});
  if (x.device() == device) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), device);
  core::copy_into(out, x);
  autograd::record("to_device", {x}, {out}, [from = x.device()](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{to_device(ctx.grads[0], from)};
  });
  return out;
}

}  // namespace loglin

#include "ops/shape/cat.h"

#include <algorithm>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/op_checks.h"
#include "ops/shape/view_ops.h"

namespace loglin {

// xs[i] is (..., n_i, ...) on `dim`; out is (..., sum n_i, ...). Any dtype: the
// copy is a plain strided copy, so integer tensors join too.
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  LOGLIN_CHECK(!xs.empty(), "[cat] needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) LOGLIN_CHECK(xs[i].defined(), "[cat] tensor {} is undefined", i);
  const Tensor& first = xs[0];
  LOGLIN_CHECK(first.dim() > 0, "[cat] cannot join 0-dim tensors (use stack)");
  const int64_t d = normalize_dim(dim, first.dim(), "cat");
  Shape out_shape = first.shape();
  out_shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check_same_dtype("cat", first, x);
    check_same_device("cat", first, x);
    LOGLIN_CHECK(x.dim() == first.dim(), "[cat] tensor {} has shape {} but tensor 0 has shape {} (ranks differ)", i,
                 shape_str(x.shape()), shape_str(first.shape()));
    for (int64_t k = 0; k < x.dim(); ++k)
      LOGLIN_CHECK(k == d || x.shape()[k] == first.shape()[k],
                   "[cat] tensor {} has shape {} but tensor 0 has shape {}: they may differ only on dim {}", i,
                   shape_str(x.shape()), shape_str(first.shape()), d);
    out_shape[d] += x.shape()[d];
  }

  Tensor out = Tensor::empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (const Tensor& x : xs) {
    starts.push_back(start);
    if (x.numel() > 0) {
      Shape window = out_shape;
      window[d] = x.shape()[d];
      core::copy_into(core::as_strided(out, window, out.strides(), start * out.strides()[d]), x);
    }
    start += x.shape()[d];
  }

  std::vector<int64_t> lengths;
  for (const Tensor& x : xs) lengths.push_back(x.shape()[d]);
  autograd::record("cat", xs, {out}, [d, starts, lengths](autograd::BackwardContext& ctx) {
    std::vector<Tensor> grads(starts.size());
    for (size_t i = 0; i < starts.size(); ++i)
      if (ctx.needs(i)) grads[i] = narrow(ctx.grads[0], d, starts[i], lengths[i]);
    return grads;
  });
  return out;
}

// Every xs[i] has the same shape S; out has S with xs.size() inserted at `dim`.
Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  LOGLIN_CHECK(!xs.empty(), "[stack] needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) LOGLIN_CHECK(xs[i].defined(), "[stack] tensor {} is undefined", i);
  const int64_t d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  for (size_t i = 0; i < xs.size(); ++i) {
    LOGLIN_CHECK(xs[i].shape() == xs[0].shape(), "[stack] tensor {} has shape {} but tensor 0 has shape {}", i,
                 shape_str(xs[i].shape()), shape_str(xs[0].shape()));
    check_same_dtype("stack", xs[0], xs[i]);
    parts.push_back(unsqueeze(xs[i], d));
  }
  return cat(parts, d);
}

namespace {

// An uninitialised tensor of `shape` whose dims are laid out in memory in the
// order of `strides` (largest first): a dense buffer permuted to match.
Tensor empty_in_layout_of(const Shape& shape, const Shape& strides, DType dtype, Device device) {
  std::vector<int64_t> order(shape.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return strides[a] > strides[b]; });
  Shape dense(shape.size());
  for (size_t i = 0; i < order.size(); ++i) dense[i] = shape[order[i]];
  Tensor buf = Tensor::empty(dense, dtype, device);
  std::vector<int64_t> back(order.size());
  for (size_t i = 0; i < order.size(); ++i) back[order[i]] = static_cast<int64_t>(i);
  NoGradGuard no_grad;
  return permute(buf, back);
}

// x's gradient from the gradients of its pieces (window(dx, i) is piece i's
// place in it), zeros where a piece got none. It takes x's memory order (x is
// often a permuted view, like the q/k/v split of a projection), so the
// backward of that permute and of the reshape before it are views, not copies.
template <class Window>
Tensor gradient_of_pieces(const std::vector<Tensor>& grads, const Shape& shape, const Shape& strides, Window window) {
  DType dtype = DType::f32;
  Device device = Device::cpu();
  for (const Tensor& g : grads)
    if (g.defined()) {
      dtype = g.dtype();
      device = g.device();
    }
  Tensor dx = empty_in_layout_of(shape, strides, dtype, device);
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor piece = window(dx, i);
    if (piece.numel() == 0) continue;
    if (grads[i].defined()) core::copy_into(piece, grads[i]);
    else core::fill(piece, 0.0);
  }
  return dx;
}

}  // namespace

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  LOGLIN_CHECK(x.defined(), "[unbind] the tensor is undefined");
  LOGLIN_CHECK(x.dim() > 0, "[unbind] cannot unbind a 0-dim tensor");
  const int64_t d = normalize_dim(dim, x.dim(), "unbind");
  std::vector<Tensor> parts;
  {
    NoGradGuard no_grad;  // the views are recorded below as one node
    for (int64_t i = 0; i < x.size(d); ++i) parts.push_back(select(x, d, i));
  }
  autograd::record("unbind", {x}, parts, [d, shape = x.shape(), strides = x.strides()](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{gradient_of_pieces(ctx.grads, shape, strides, [d](const Tensor& dx, size_t i) {
      return select(dx, d, static_cast<int64_t>(i));
    })};
  });
  return parts;
}

std::vector<Tensor> split(const Tensor& x, int64_t dim, const std::vector<int64_t>& sizes) {
  LOGLIN_CHECK(x.defined(), "[split] the tensor is undefined");
  LOGLIN_CHECK(x.dim() > 0, "[split] cannot split a 0-dim tensor");
  LOGLIN_CHECK(!sizes.empty(), "[split] needs at least one size");
  const int64_t d = normalize_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    LOGLIN_CHECK(sizes[i] >= 0, "[split] size {} is {}; sizes must be non-negative", i, sizes[i]);
    total += sizes[i];
  }
  LOGLIN_CHECK(total == x.size(d), "[split] sizes {} add up to {}, but dim {} of shape {} has {}", shape_str(sizes),
               total, dim, shape_str(x.shape()), x.size(d));
  std::vector<Tensor> parts;
  std::vector<int64_t> starts;
  {
    NoGradGuard no_grad;  // the views are recorded below as one node
    int64_t start = 0;
    for (int64_t n : sizes) {
      starts.push_back(start);
      parts.push_back(narrow(x, d, start, n));
      start += n;
    }
  }
  autograd::record("split", {x}, parts,
                   [d, starts, sizes, shape = x.shape(), strides = x.strides()](autograd::BackwardContext& ctx) {
                     return std::vector<Tensor>{
                         gradient_of_pieces(ctx.grads, shape, strides, [&](const Tensor& dx, size_t i) {
                           return narrow(dx, d, starts[i], sizes[i]);
                         })};
                   });
  return parts;
}

}  // namespace loglin

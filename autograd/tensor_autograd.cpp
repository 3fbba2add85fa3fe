// The autograd members of Tensor (declared in core/tensor.h).
#include "autograd/engine.h"
#include "autograd/node.h"

namespace loglin {

bool Tensor::requires_grad() const { return impl().requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  LOGLIN_CHECK(!impl().grad_fn, "[requires_grad] only leaf tensors can change requires_grad; use detach() first");
  LOGLIN_CHECK(!on || is_floating(dtype()), "[requires_grad] only floating tensors can require grad, this one is {}",
               dtype_name(dtype()));
  impl().requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return !impl().grad_fn; }

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }

void Tensor::set_grad(const Tensor& g) {
  if (g.defined())
    LOGLIN_CHECK(g.shape() == shape(), "[set_grad] gradient shape {} differs from the tensor's {}",
                 shape_str(g.shape()), shape_str(shape()));
  impl().grad = g.defined() ? g.impl_ptr() : nullptr;
}

void Tensor::zero_grad() { impl().grad = nullptr; }

std::shared_ptr<autograd::Node> Tensor::grad_fn() const { return impl().grad_fn; }

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  Tensor g = gradient;
  if (!g.defined()) {
    LOGLIN_CHECK(numel() == 1,
                 "[backward] a gradient must be given for a non-scalar tensor of shape {} (backward() alone works "
                 "on scalars, such as a loss)",
                 shape_str(shape()));
    g = Tensor::ones(shape(), dtype(), device());
  }
  autograd::backward({*this}, {g}, retain_graph);
}

Tensor Tensor::detach() const {
  auto d = std::make_shared<TensorImpl>();
  d->storage = impl().storage;
  d->shape = impl().shape;
  d->strides = impl().strides;
  d->offset = impl().offset;
  d->dtype = impl().dtype;
  return Tensor(std::move(d));
}

}  // namespace loglin

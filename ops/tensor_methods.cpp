// The differentiable Tensor members declared in core/tensor.h, forwarding to
// the ops of the same names.
#include "ops/matmul/matmul.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/view_ops.h"

namespace loglin {

Tensor Tensor::reshape(const Shape& shape) const { return loglin::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return loglin::view(*this, shape); }
Tensor Tensor::permute(const Shape& dims) const { return loglin::permute(*this, dims); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return loglin::transpose(*this, d0, d1); }
Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  return loglin::narrow(*this, dim, start, length);
}
Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  return loglin::slice(*this, dim, start, end, step);
}
Tensor Tensor::select(int64_t dim, int64_t index) const { return loglin::select(*this, dim, index); }
Tensor Tensor::unsqueeze(int64_t dim) const { return loglin::unsqueeze(*this, dim); }
Tensor Tensor::squeeze(int64_t dim) const { return loglin::squeeze(*this, dim); }
Tensor Tensor::expand(const Shape& shape) const { return loglin::expand(*this, shape); }
Tensor Tensor::contiguous() const { return loglin::contiguous(*this); }
Tensor Tensor::clone() const { return loglin::clone(*this); }
Tensor Tensor::to(DType dtype) const { return loglin::to_dtype(*this, dtype); }
Tensor Tensor::to(Device device) const { return loglin::to_device(*this, device); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return loglin::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return loglin::mean(*this, dims, keepdim); }
Tensor Tensor::matmul(const Tensor& other) const { return loglin::matmul(*this, other); }

}  // namespace loglin

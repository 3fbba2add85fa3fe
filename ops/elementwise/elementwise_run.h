// Runs a functor of elementwise_math.h on the tensors' device: the CUDA
// launchers for cuda tensors, the CPU loops otherwise. No autograd here: the
// op files record their own backward. Outputs are new contiguous tensors on
// the inputs' device.
#pragma once
#include "core/strided_layout.h"
#include "core/tensor.h"
#include "ops/elementwise/elementwise_cpu.h"
#include "ops/elementwise/elementwise_math.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/elementwise/elementwise_cuda.h"
#endif

namespace loglin::ew {

inline Tensor packed(const Tensor& t) { return t.is_contiguous() ? t : core::contiguous_copy(t); }

// y = op(x).
template <class T, class Op>
Tensor run_unary(const char* name, const Tensor& x, const Op& op) {
#if LOGLIN_WITH_CUDA
  if (on_cuda(x)) {
    Tensor xc = packed(x);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
    cuda::elementwise_unary<T>(xc.data<T>(), y.data<T>(), y.numel(), op, name, x.device().index);
    return y;
  }
#endif
  check_cpu(name, x);
  return cpu::map_unary<T>(x, op);
}

// dx = op.backward(x, y, dy), all three of one shape.
template <class T, class Op>
Tensor run_unary_backward(const char* name, const Tensor& x, const Tensor& y, const Tensor& dy, const Op& op) {
#if LOGLIN_WITH_CUDA
  if (on_cuda(x)) {
    check_same_device(name, x, dy);
    Tensor xc = packed(x), yc = packed(y), gc = packed(dy);
    Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
    cuda::elementwise_unary_backward<T>(xc.data<T>(), yc.data<T>(), gc.data<T>(), dx.data<T>(), dx.numel(), op, name,
                                        x.device().index);
    return dx;
  }
#endif
  check_cpu(name, x);
  return cpu::map_ternary<T>(x, y, dy, BackwardOf<Op>{op});
}

// out = op(a, b) with numpy broadcasting to out_shape; a and b are on one device.
template <class T, class Op>
Tensor run_binary(const char* name, const Tensor& a, const Tensor& b, const Shape& out_shape, const Op& op) {
#if LOGLIN_WITH_CUDA
  if (on_cuda(a)) {
    Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
    const Shape sa = broadcast_strides(a.shape(), a.strides(), out_shape);
    const Shape sb = broadcast_strides(b.shape(), b.strides(), out_shape);
    const std::vector<StridedLayout> l = merged_layouts(out_shape, {out.strides(), sa, sb}, name);
    cuda::elementwise_binary<T>(out.data<T>(), a.data<T>(), l[1], b.data<T>(), l[2], out.numel(), op, name,
                                a.device().index);
    return out;
  }
#endif
  check_cpu(name, a);
  return cpu::map_binary<T>(a, b, out_shape, op);
}

}  // namespace loglin::ew

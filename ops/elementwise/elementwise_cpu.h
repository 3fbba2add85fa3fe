// CPU loops shared by every elementwise op: one map for unary ops, one
// broadcasting loop for binary ops, one for a backward that reads (x, y, dy).
// The scalar math comes in as a functor (elementwise_math.h, shared with the
// CUDA kernels) or a lambda; nothing here knows an op.
#pragma once
#include <array>

#include "core/strided_loop.h"
#include "core/tensor.h"

namespace loglin::cpu {

// Elementwise loops split across threads only when there is enough work to
// pay for waking them.
constexpr int64_t kParallelGrain = 1 << 15;

// out[i] = f(x[i]); out is a new contiguous tensor.
template <class T, class F>
Tensor map_unary(const Tensor& x, F f) {
  Tensor xc = x.is_contiguous() ? x : core::contiguous_copy(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  const T* in = xc.data<T>();
  T* o = out.data<T>();
  const int64_t n = out.numel();
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) o[i] = f(in[i]);
  return out;
}

// out[i] = f(a[i], b[i], c[i]) over three same-shape tensors.
template <class T, class F>
Tensor map_ternary(const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  Tensor ac = a.is_contiguous() ? a : core::contiguous_copy(a);
  Tensor bc = b.is_contiguous() ? b : core::contiguous_copy(b);
  Tensor cc = c.is_contiguous() ? c : core::contiguous_copy(c);
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  const T* pa = ac.data<T>();
  const T* pb = bc.data<T>();
  const T* pc = cc.data<T>();
  T* o = out.data<T>();
  const int64_t n = out.numel();
#pragma omp parallel for simd if (n > kParallelGrain)
  for (int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i], pc[i]);
  return out;
}

// out = f(a, b) with numpy broadcasting; out has the broadcast shape.
template <class T, class F>
Tensor map_binary(const Tensor& a, const Tensor& b, const Shape& out_shape, F f) {
  Tensor out = Tensor::empty(out_shape, a.dtype());
  T* o = out.data<T>();
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  const int64_t n = out.numel();
  if (a.shape() == out_shape && b.shape() == out_shape && a.is_contiguous() && b.is_contiguous()) {
#pragma omp parallel for simd if (n > kParallelGrain)
    for (int64_t i = 0; i < n; ++i) o[i] = f(pa[i], pb[i]);
    return out;
  }
  Shape sa = broadcast_strides(a.shape(), a.strides(), out_shape);
  Shape sb = broadcast_strides(b.shape(), b.strides(), out_shape);
  strided_loop<3>(out_shape, {&out.strides(), &sa, &sb},
                  [&](const std::array<int64_t, 3>& off, int64_t count, const std::array<int64_t, 3>& step) {
                    T* op = o + off[0];
                    const T* ap = pa + off[1];
                    const T* bp = pb + off[2];
                    if (step[1] == 1 && step[2] == 1) {
                      for (int64_t i = 0; i < count; ++i) op[i] = f(ap[i], bp[i]);
                    } else {
                      for (int64_t i = 0; i < count; ++i) op[i] = f(ap[i * step[1]], bp[i * step[2]]);
                    }
                  });
  return out;
}

}  // namespace loglin::cpu

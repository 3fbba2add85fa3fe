#include "ops/where/where.h"

#include <array>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/strided_loop.h"
#include "ops/bf16_through_f32.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"
#if LOGLIN_WITH_CUDA
#include "core/strided_layout.h"
#include "ops/where/where_cuda.h"
#endif

namespace loglin {
namespace {

template <class C>
bool truthy(C v) {
  if constexpr (std::is_same_v<C, bf16>) {
    return static_cast<float>(v) != 0.0f;
  } else {
    return v != C(0);
  }
}

// Elementwise loops split across threads only when there is enough work.
constexpr int64_t kParallelGrain = 1 << 15;

// out (shape `out_shape`, contiguous) = cond ? a : b, all three broadcast.
Tensor select_cpu(const char* op, const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape) {
  Tensor out = Tensor::empty(out_shape, a.dtype());
  const Shape& so = out.strides();
  Shape sc = broadcast_strides(cond.shape(), cond.strides(), out_shape);
  Shape sa = broadcast_strides(a.shape(), a.strides(), out_shape);
  Shape sb = broadcast_strides(b.shape(), b.strides(), out_shape);
  // Threads split the leading dim; each walks the rest with strided_loop.
  const bool split = out_shape.size() > 1 && out_shape[0] > 1 && out.numel() > kParallelGrain;
  const int64_t outer = split ? out_shape[0] : 1;
  const Shape inner_shape = split ? Shape(out_shape.begin() + 1, out_shape.end()) : out_shape;
  auto tail = [split](const Shape& s) { return split ? Shape(s.begin() + 1, s.end()) : s; };
  const Shape to = tail(so), tc = tail(sc), ta = tail(sa), tb = tail(sb);
  dispatch_float(a, op, [&]<class T>() {
    dispatch_all(cond.dtype(), [&]<class C>() {
      T* o = out.data<T>();
      const C* pc = cond.data<C>();
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
#pragma omp parallel for if (split)
      for (int64_t r = 0; r < outer; ++r) {
        T* o_r = o + (split ? r * so[0] : 0);
        const C* c_r = pc + (split ? r * sc[0] : 0);
        const T* a_r = pa + (split ? r * sa[0] : 0);
        const T* b_r = pb + (split ? r * sb[0] : 0);
        strided_loop<4>(inner_shape, {&to, &tc, &ta, &tb},
                        [&](const std::array<int64_t, 4>& off, int64_t n, const std::array<int64_t, 4>& st) {
                          T* op_ = o_r + off[0];
                          const C* cp = c_r + off[1];
                          const T* ap = a_r + off[2];
                          const T* bp = b_r + off[3];
                          for (int64_t i = 0; i < n; ++i)
                            op_[i] = truthy(cp[i * st[1]]) ? ap[i * st[2]] : bp[i * st[3]];
                        });
      }
    });
  });
  return out;
}

// One side of a selection: a tensor, or (where t is undefined) the constant
// `fill`: masked_fill's value, or the zero of a backward.
struct Side {
  Tensor t;
  double fill = 0.0;
};

#if LOGLIN_WITH_CUDA
template <class T>
Tensor select_cuda(const char* op, const Tensor& cond, const Side& a, const Side& b, const Shape& out_shape,
                   DType dtype, Device device) {
  Tensor out = Tensor::empty(out_shape, dtype, device);
  const Shape zeros(out_shape.size(), 0);
  auto strides_of = [&](const Tensor& t) {
    return t.defined() ? broadcast_strides(t.shape(), t.strides(), out_shape) : zeros;
  };
  const std::vector<StridedLayout> l =
      merged_layouts(out_shape, {out.strides(), strides_of(cond), strides_of(a.t), strides_of(b.t)}, op);
  auto side = [&](const Side& s, const StridedLayout& layout) {
    cuda::SelectSide<T> d;
    if (s.t.defined()) d.data = s.t.data<T>();
    d.layout = layout;
    d.fill = static_cast<T>(s.fill);
    return d;
  };
  cuda::where_select<T>(out.data<T>(), out.numel(), cond.raw_data(), cond.dtype(), l[1], side(a, l[2]),
                        side(b, l[3]), op, device.index);
  return out;
}
#endif

// out (shape `out_shape`, contiguous, on the tensors' device) = cond ? a : b.
Tensor select_raw(const char* op, const Tensor& cond, const Side& a, const Side& b, const Shape& out_shape) {
  const Tensor& ref = a.t.defined() ? a.t : b.t;
#if LOGLIN_WITH_CUDA
  if (on_cuda(ref)) {
    return dispatch_float(ref, op, [&]<class T>() {
      return select_cuda<T>(op, cond, a, b, out_shape, ref.dtype(), ref.device());
    });
  }
#endif
  check_cpu(op, ref);
  auto tensor_of = [&](const Side& s) { return s.t.defined() ? s.t : Tensor::scalar(s.fill, ref.dtype()); };
  return select_cpu(op, cond, tensor_of(a), tensor_of(b), out_shape);
}

}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined("where", {&cond, &a, &b});
  if (via_f32::both_bf16(a, b)) return via_f32::through_f32(where(cond, via_f32::as_f32(a), via_f32::as_f32(b)));
  check_same_dtype("where", a, b);
  check_same_device("where", a, b);
  check_same_device("where", cond, a);
  Shape out_shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = select_raw("where", cond, {a}, {b}, out_shape);
  autograd::record("where", {cond, a, b}, {out},
                   [c = cond.detach(), sa = a.shape(), sb = b.shape()](autograd::BackwardContext& ctx) {
                     const Tensor& g = ctx.grads[0];
                     const Side zero{Tensor(), 0.0};
                     Tensor ga, gb;
                     if (ctx.needs(1)) ga = sum_to_shape(select_raw("where", c, {g}, zero, g.shape()), sa);
                     if (ctx.needs(2)) gb = sum_to_shape(select_raw("where", c, zero, {g}, g.shape()), sb);
                     return std::vector<Tensor>{Tensor(), ga, gb};
                   });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_defined("masked_fill", {&x, &mask});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(masked_fill(via_f32::as_f32(x), mask, value));
  check_same_device("masked_fill", x, mask);
  LOGLIN_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(),
               "[masked_fill] mask of shape {} does not broadcast to x's shape {}", shape_str(mask.shape()),
               shape_str(x.shape()));
  Tensor out = select_raw("masked_fill", mask, {Tensor(), value}, {x}, x.shape());
  autograd::record("masked_fill", {x, mask}, {out}, [m = mask.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    return std::vector<Tensor>{select_raw("masked_fill", m, {Tensor(), 0.0}, {g}, g.shape()), Tensor()};
  });
  return out;
}

}  // namespace loglin

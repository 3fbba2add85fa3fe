#include "ops/where/where.h"

#include <array>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/strided_loop.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"

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
// The backward passes reuse it with g on one side and a zero scalar on the other.
Tensor select_raw(const char* op, const Tensor& cond, const Tensor& a, const Tensor& b, const Shape& out_shape) {
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
  dispatch_float(a.dtype(), op, [&]<class T>() {
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

}  // namespace

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined("where", {&cond, &a, &b});
  check_same_dtype("where", a, b);
  check_same_device("where", a, b);
  check_same_device("where", cond, a);
  check_cpu("where", a);
  Shape out_shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = select_raw("where", cond, a, b, out_shape);
  autograd::record("where", {cond, a, b}, {out},
                   [c = cond.detach(), sa = a.shape(), sb = b.shape()](autograd::BackwardContext& ctx) {
                     const Tensor& g = ctx.grads[0];
                     Tensor zero = Tensor::scalar(0.0, g.dtype());
                     Tensor ga, gb;
                     if (ctx.needs(1)) ga = sum_to_shape(select_raw("where", c, g, zero, g.shape()), sa);
                     if (ctx.needs(2)) gb = sum_to_shape(select_raw("where", c, zero, g, g.shape()), sb);
                     return std::vector<Tensor>{Tensor(), ga, gb};
                   });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  check_defined("masked_fill", {&x, &mask});
  check_same_device("masked_fill", x, mask);
  check_cpu("masked_fill", x);
  LOGLIN_CHECK(broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(),
               "[masked_fill] mask of shape {} does not broadcast to x's shape {}", shape_str(mask.shape()),
               shape_str(x.shape()));
  Tensor fill = Tensor::scalar(value, x.dtype());
  Tensor out = select_raw("masked_fill", mask, fill, x, x.shape());
  autograd::record("masked_fill", {x, mask}, {out}, [m = mask.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    return std::vector<Tensor>{select_raw("masked_fill", m, Tensor::scalar(0.0, g.dtype()), g, g.shape()), Tensor()};
  });
  return out;
}

}  // namespace loglin

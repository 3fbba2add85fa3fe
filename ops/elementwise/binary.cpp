#include "ops/elementwise/binary.h"

#include "autograd/node.h"
#include "ops/bf16_through_f32.h"
#include "core/dispatch.h"
#include "ops/elementwise/elementwise_math.h"
#include "ops/elementwise/elementwise_run.h"
#include "ops/elementwise/sum_to_shape_of_product.h"
#include "ops/elementwise/unary.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"

namespace loglin {
namespace {

template <class Op>
Tensor binary_forward(const char* name, const Tensor& a, const Tensor& b, Op op) {
  check_defined(name, {&a, &b});
  check_same_dtype(name, a, b);
  check_same_device(name, a, b);
  Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  return dispatch_float(a, name, [&]<class T>() { return ew::run_binary<T>(name, a, b, out_shape, op); });
}

template <class Op>
Tensor scalar_forward(const char* name, const Tensor& a, Op op) {
  check_defined(name, {&a});
  return dispatch_float(a, name, [&]<class T>() { return ew::run_unary<T>(name, a, op); });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  if (via_f32::both_bf16(a, b)) return via_f32::through_f32(add(via_f32::as_f32(a), via_f32::as_f32(b)));
  Tensor out = binary_forward("add", a, b, ew::AddOp{});
  autograd::record("add", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    return std::vector<Tensor>{ctx.needs(0) ? sum_to_shape(g, sa) : Tensor(),
                               ctx.needs(1) ? sum_to_shape(g, sb) : Tensor()};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  if (via_f32::both_bf16(a, b)) return via_f32::through_f32(sub(via_f32::as_f32(a), via_f32::as_f32(b)));
  Tensor out = binary_forward("sub", a, b, ew::SubOp{});
  autograd::record("sub", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    return std::vector<Tensor>{ctx.needs(0) ? sum_to_shape(g, sa) : Tensor(),
                               ctx.needs(1) ? sum_to_shape(neg(g), sb) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  if (via_f32::both_bf16(a, b)) return via_f32::through_f32(mul(via_f32::as_f32(a), via_f32::as_f32(b)));
  Tensor out = binary_forward("mul", a, b, ew::MulOp{});
  autograd::record("mul", {a, b}, {out}, [a = a.detach(), b = b.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    // The broadcast operand's gradient sums g * other without writing it
    // where it can; the full-size operand's is plain mul (nothing to sum).
    return std::vector<Tensor>{ctx.needs(0) ? sum_to_shape_of_product(g, b, a.shape()) : Tensor(),
                               ctx.needs(1) ? sum_to_shape_of_product(g, a, b.shape()) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  if (via_f32::both_bf16(a, b)) return via_f32::through_f32(div(via_f32::as_f32(a), via_f32::as_f32(b)));
  Tensor out = binary_forward("div", a, b, ew::DivOp{});
  autograd::record("div", {a, b}, {out},
                   [a = a.detach(), b = b.detach(), out = out.detach()](autograd::BackwardContext& ctx) {
                     const Tensor& g = ctx.grads[0];
                     Tensor ga, gb;
                     if (ctx.needs(0)) ga = sum_to_shape(div(g, b), a.shape());
                     // d(a/b)/db = -a/b^2 = -out/b
                     if (ctx.needs(1)) gb = sum_to_shape(neg(div(mul(g, out), b)), b.shape());
                     return std::vector<Tensor>{ga, gb};
                   });
  return out;
}

Tensor add(const Tensor& a, double s) {
  if (via_f32::is_bf16(a)) return via_f32::through_f32(add(via_f32::as_f32(a), s));
  Tensor out = scalar_forward("add", a, ew::AddScalarOp{s});
  autograd::record("add_scalar", {a}, {out}, [](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{ctx.grads[0]};
  });
  return out;
}

Tensor mul(const Tensor& a, double s) {
  if (via_f32::is_bf16(a)) return via_f32::through_f32(mul(via_f32::as_f32(a), s));
  Tensor out = scalar_forward("mul", a, ew::MulScalarOp{s});
  autograd::record("mul_scalar", {a}, {out}, [s](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{mul(ctx.grads[0], s)};
  });
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double s) { return add(a, s); }
Tensor operator+(double s, const Tensor& a) { return add(a, s); }
Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
Tensor operator-(double s, const Tensor& a) { return add(neg(a), s); }
Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
Tensor operator/(double s, const Tensor& a) { return mul(pow(a, -1.0), s); }
Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace loglin

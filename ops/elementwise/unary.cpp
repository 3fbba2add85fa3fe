#include "ops/elementwise/unary.h"

#include "autograd/node.h"
#include "ops/bf16_through_f32.h"
#include "core/dispatch.h"
#include "ops/elementwise/elementwise_math.h"
#include "ops/elementwise/elementwise_run.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

// Runs op(x) elementwise and records a backward that computes
// dx = op.backward(x, y, dy) elementwise, on x's device.
template <class Op>
Tensor unary_op(const char* name, const Tensor& x, Op op) {
  check_defined(name, {&x});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(unary_op(name, via_f32::as_f32(x), op));
  Tensor y = dispatch_float(x, name, [&]<class T>() { return ew::run_unary<T>(name, x, op); });
  autograd::record(name, {x}, {y}, [name, op, x = x.detach(), y = y.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    Tensor dx =
        dispatch_float(x, name, [&]<class T>() { return ew::run_unary_backward<T>(name, x, y, g, op); });
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace

Tensor neg(const Tensor& x) { return unary_op("neg", x, ew::NegOp{}); }
Tensor exp(const Tensor& x) { return unary_op("exp", x, ew::ExpOp{}); }
Tensor log(const Tensor& x) { return unary_op("log", x, ew::LogOp{}); }
Tensor sqrt(const Tensor& x) { return unary_op("sqrt", x, ew::SqrtOp{}); }
Tensor pow(const Tensor& x, double p) { return unary_op("pow", x, ew::PowOp{p}); }
Tensor tanh(const Tensor& x) { return unary_op("tanh", x, ew::TanhOp{}); }
Tensor sigmoid(const Tensor& x) { return unary_op("sigmoid", x, ew::SigmoidOp{}); }
Tensor relu(const Tensor& x) { return unary_op("relu", x, ew::ReluOp{}); }
Tensor silu(const Tensor& x) { return unary_op("silu", x, ew::SiluOp{}); }
Tensor gelu(const Tensor& x) { return unary_op("gelu", x, ew::GeluOp{}); }
Tensor softplus(const Tensor& x) { return unary_op("softplus", x, ew::SoftplusOp{}); }

}  // namespace loglin

#include "ops/elementwise/unary.h"

#include <cmath>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/elementwise/elementwise_cpu.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

// Runs fwd(x) elementwise and records a backward that computes
// dx = bwd(x, y, dy) elementwise. Both are generic lambdas over float/double.
template <class Fwd, class Bwd>
Tensor unary_op(const char* name, const Tensor& x, Fwd fwd, Bwd bwd) {
  check_defined(name, {&x});
  check_cpu(name, x);
  Tensor y = dispatch_float(x.dtype(), name, [&]<class T>() { return cpu::map_unary<T>(x, fwd); });
  autograd::record(name, {x}, {y}, [name, bwd, x = x.detach(), y = y.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    Tensor dx = dispatch_float(x.dtype(), name, [&]<class T>() { return cpu::map_ternary<T>(x, y, g, bwd); });
    return std::vector<Tensor>{dx};
  });
  return y;
}

template <class T>
T sigmoid_of(T x) {
  return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

constexpr double kGeluC = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluA = 0.044715;

}  // namespace

Tensor neg(const Tensor& x) {
  return unary_op("neg", x, [](auto v) { return -v; }, [](auto, auto, auto g) { return -g; });
}

Tensor exp(const Tensor& x) {
  return unary_op("exp", x, [](auto v) { return std::exp(v); }, [](auto, auto y, auto g) { return g * y; });
}

Tensor log(const Tensor& x) {
  return unary_op("log", x, [](auto v) { return std::log(v); }, [](auto v, auto, auto g) { return g / v; });
}

Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", x, [](auto v) { return std::sqrt(v); },
                  [](auto, auto y, auto g) { return g / (decltype(y)(2) * y); });
}

Tensor pow(const Tensor& x, double p) {
  return unary_op("pow", x, [p](auto v) { return static_cast<decltype(v)>(std::pow(v, p)); },
                  [p](auto v, auto, auto g) {
                    using T = decltype(v);
                    return g * static_cast<T>(p) * static_cast<T>(std::pow(v, p - 1));
                  });
}

Tensor tanh(const Tensor& x) {
  return unary_op("tanh", x, [](auto v) { return std::tanh(v); },
                  [](auto, auto y, auto g) { return g * (decltype(y)(1) - y * y); });
}

Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", x, [](auto v) { return sigmoid_of(v); },
                  [](auto, auto y, auto g) { return g * y * (decltype(y)(1) - y); });
}

Tensor relu(const Tensor& x) {
  return unary_op("relu", x, [](auto v) { return v > 0 ? v : decltype(v)(0); },
                  [](auto v, auto, auto g) { return v > 0 ? g : decltype(g)(0); });
}

Tensor silu(const Tensor& x) {
  return unary_op("silu", x, [](auto v) { return v * sigmoid_of(v); },
                  [](auto v, auto, auto g) {
                    auto s = sigmoid_of(v);
                    return g * (s + v * s * (decltype(v)(1) - s));
                  });
}

Tensor gelu(const Tensor& x) {
  return unary_op("gelu", x,
                  [](auto v) {
                    using T = decltype(v);
                    T inner = static_cast<T>(kGeluC) * (v + static_cast<T>(kGeluA) * v * v * v);
                    return T(0.5) * v * (T(1) + std::tanh(inner));
                  },
                  [](auto v, auto, auto g) {
                    using T = decltype(v);
                    T inner = static_cast<T>(kGeluC) * (v + static_cast<T>(kGeluA) * v * v * v);
                    T t = std::tanh(inner);
                    T dinner = static_cast<T>(kGeluC) * (T(1) + T(3) * static_cast<T>(kGeluA) * v * v);
                    return g * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * dinner);
                  });
}

Tensor softplus(const Tensor& x) {
  return unary_op("softplus", x,
                  [](auto v) {
                    using T = decltype(v);
                    // log(1+e^v) = max(v,0) + log1p(e^-|v|): never overflows.
                    return std::max(v, T(0)) + std::log1p(std::exp(-std::abs(v)));
                  },
                  [](auto v, auto, auto g) { return g * sigmoid_of(v); });
}

}  // namespace loglin

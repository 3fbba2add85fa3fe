// The scalar math of every elementwise op, written once and run by both the
// CPU loops (elementwise_cpu.h) and the CUDA kernels (elementwise_cuda.cu).
// A unary functor has operator()(x) -> y and backward(x, y, dy) -> dx; a
// binary functor has operator()(a, b). Plain C++17: nvcc includes this.
// Adding an op: write its functor here and add one line to the X-macro list
// at the bottom, which instantiates its CUDA kernels.
#pragma once
#include <algorithm>
#include <cmath>

#include "core/host_device.h"

namespace loglin::ew {

// Branches on the sign so neither exp overflows.
template <class T>
LOGLIN_HD T sigmoid_of(T x) {
  return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

constexpr double kGeluC = 0.7978845608028654;  // sqrt(2 / pi)
constexpr double kGeluA = 0.044715;

// ---- unary ----

struct NegOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return -x; }
  template <class T> LOGLIN_HD T backward(T, T, T g) const { return -g; }
};

struct ExpOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return std::exp(x); }
  template <class T> LOGLIN_HD T backward(T, T y, T g) const { return g * y; }
};

struct LogOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return std::log(x); }
  template <class T> LOGLIN_HD T backward(T x, T, T g) const { return g / x; }
};

struct SqrtOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return std::sqrt(x); }
  template <class T> LOGLIN_HD T backward(T, T y, T g) const { return g / (T(2) * y); }
};

// The exponent stays double and pow runs in double, as std::pow(float,
// double) does on the CPU, so both backends round the same way.
struct PowOp {
  double p;
  template <class T> LOGLIN_HD T operator()(T x) const { return static_cast<T>(std::pow(static_cast<double>(x), p)); }
  template <class T> LOGLIN_HD T backward(T x, T, T g) const {
    return g * static_cast<T>(p) * static_cast<T>(std::pow(static_cast<double>(x), p - 1));
  }
};

struct TanhOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return std::tanh(x); }
  template <class T> LOGLIN_HD T backward(T, T y, T g) const { return g * (T(1) - y * y); }
};

struct SigmoidOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return sigmoid_of(x); }
  template <class T> LOGLIN_HD T backward(T, T y, T g) const { return g * y * (T(1) - y); }
};

struct ReluOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return x > T(0) ? x : T(0); }
  template <class T> LOGLIN_HD T backward(T x, T, T g) const { return x > T(0) ? g : T(0); }
};

struct SiluOp {
  template <class T> LOGLIN_HD T operator()(T x) const { return x * sigmoid_of(x); }
  template <class T> LOGLIN_HD T backward(T x, T, T g) const {
    const T s = sigmoid_of(x);
    return g * (s + x * s * (T(1) - s));
  }
};

// The tanh approximation, as GPT-2 uses.
struct GeluOp {
  template <class T> LOGLIN_HD T operator()(T x) const {
    const T inner = static_cast<T>(kGeluC) * (x + static_cast<T>(kGeluA) * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(inner));
  }
  template <class T> LOGLIN_HD T backward(T x, T, T g) const {
    const T inner = static_cast<T>(kGeluC) * (x + static_cast<T>(kGeluA) * x * x * x);
    const T t = std::tanh(inner);
    const T dinner = static_cast<T>(kGeluC) * (T(1) + T(3) * static_cast<T>(kGeluA) * x * x);
    return g * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner);
  }
};

struct SoftplusOp {
  // log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows.
  template <class T> LOGLIN_HD T operator()(T x) const {
    return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
  }
  template <class T> LOGLIN_HD T backward(T x, T, T g) const { return g * sigmoid_of(x); }
};

// The scalar is rounded to T once, as the CPU path always did.
struct AddScalarOp {
  double s;
  template <class T> LOGLIN_HD T operator()(T x) const { return x + static_cast<T>(s); }
  template <class T> LOGLIN_HD T backward(T, T, T g) const { return g; }
};

struct MulScalarOp {
  double s;
  template <class T> LOGLIN_HD T operator()(T x) const { return x * static_cast<T>(s); }
  template <class T> LOGLIN_HD T backward(T, T, T g) const { return g * static_cast<T>(s); }
};

// ---- binary ----

struct AddOp {
  template <class T> LOGLIN_HD T operator()(T a, T b) const { return a + b; }
};
struct SubOp {
  template <class T> LOGLIN_HD T operator()(T a, T b) const { return a - b; }
};
struct MulOp {
  template <class T> LOGLIN_HD T operator()(T a, T b) const { return a * b; }
};
struct DivOp {
  template <class T> LOGLIN_HD T operator()(T a, T b) const { return a / b; }
};

// A unary functor's backward as a three-argument call, for the ternary maps.
template <class Op>
struct BackwardOf {
  Op op;
  template <class T> LOGLIN_HD T operator()(T x, T y, T g) const { return op.backward(x, y, g); }
};

}  // namespace loglin::ew

// Every functor the CUDA kernels are instantiated for.
#define LOGLIN_EW_UNARY_OPS(X) \
  X(NegOp)                     \
  X(ExpOp)                     \
  X(LogOp)                     \
  X(SqrtOp)                    \
  X(PowOp)                     \
  X(TanhOp)                    \
  X(SigmoidOp)                 \
  X(ReluOp)                    \
  X(SiluOp)                    \
  X(GeluOp)                    \
  X(SoftplusOp)                \
  X(AddScalarOp)               \
  X(MulScalarOp)

#define LOGLIN_EW_BINARY_OPS(X) \
  X(AddOp)                      \
  X(SubOp)                      \
  X(MulOp)                      \
  X(DivOp)

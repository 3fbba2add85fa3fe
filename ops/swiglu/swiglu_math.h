// The scalar math of swiglu, shared by the CPU loop and the CUDA kernels.
//   out = silu(a) b = a s b,  s = sigmoid(a)
//   da  = g b s (1 + a (1 - s)),  db = g a s
#pragma once
#include "ops/elementwise/elementwise_math.h"

namespace loglin::swiglu_math {

template <class T>
LOGLIN_HD T forward(T a, T b) {
  return a * ew::sigmoid_of(a) * b;
}

template <class T>
LOGLIN_HD void backward(T a, T b, T g, T& da, T& db) {
  const T s = ew::sigmoid_of(a);
  da = g * b * s * (T(1) + a * (T(1) - s));
  db = g * a * s;
}

}  // namespace loglin::swiglu_math

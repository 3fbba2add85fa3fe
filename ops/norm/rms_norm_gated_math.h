// The gate of rms_norm_gated, written once for the CPU loops and the CUDA
// kernels: silu(z) = z * sigmoid(z) and its derivative from one sigmoid
// (ew::sigmoid_of, which never overflows). Plain C++17: nvcc includes this.
#pragma once
#include "core/host_device.h"
#include "ops/elementwise/elementwise_math.h"

namespace loglin::gate {

template <class T>
struct Silu {
  T value;  // silu(z)
  T grad;   // d silu / dz = s * (1 + z * (1 - s)), s = sigmoid(z)
};

template <class T>
LOGLIN_HD Silu<T> silu(T z) {
  const T s = ew::sigmoid_of(z);
  return {z * s, s * (T(1) + z * (T(1) - s))};
}

}  // namespace loglin::gate

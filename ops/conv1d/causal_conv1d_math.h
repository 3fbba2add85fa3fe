// The activation that causal_conv1d can fuse onto its output, written once
// for the CPU loops (causal_conv1d_cpu.h) and the CUDA kernels
// (causal_conv1d_cuda.cu). Plain C++17: nvcc includes this.
//   z = bias + conv(x)   (the pre-activation, never stored)
//   out = act(z);  dz = dout * act'(z)
// The backward recomputes z from x, the weight and the bias (W taps per
// element), so the forward saves nothing beyond its inputs.
#pragma once
#include "core/host_device.h"
#include "ops/elementwise/elementwise_math.h"

namespace loglin {

enum class ConvActivation { none, silu };

// sigmoid(z). On the CPU ew::sigmoid_of, as the elementwise ops use. On the
// device without an IEEE division: its rarely taken slow path is a call, and
// the registers it clobbers make the register-window kernels spill. The
// divisor 1 + exp(-|z|) lies in [1, 2], where the approximate reciprocal
// (f32: div.approx, within 2 ulp) needs no special cases; f64 refines the
// f32 reciprocal with two Newton steps (2^-22 -> 2^-44 -> full precision).
template <class T>
LOGLIN_HD T conv_sigmoid(T z) {
#if defined(__CUDA_ARCH__)
  const T e = exp(-fabs(z));
  const T d = T(1) + e;
  T r;
  if constexpr (sizeof(T) == sizeof(float)) {
    r = __fdividef(1.0f, d);
  } else {
    r = static_cast<T>(__fdividef(1.0f, static_cast<float>(d)));
    r = r * (T(2) - d * r);
    r = r * (T(2) - d * r);
  }
  return z >= T(0) ? r : e * r;
#else
  return ew::sigmoid_of(z);
#endif
}

// act(z): silu(z) = z * sigmoid(z), the elementwise silu's formula.
template <bool kSilu, class T>
LOGLIN_HD T conv_act(T z) {
  if constexpr (kSilu) return z * conv_sigmoid(z);
  else return z;
}

// dout * act'(z); silu'(z) = s + z s (1 - s), s = sigmoid(z).
template <bool kSilu, class T>
LOGLIN_HD T conv_act_grad(T z, T dout) {
  if constexpr (kSilu) {
    const T s = conv_sigmoid(z);
    return dout * (s + z * s * (T(1) - s));
  } else {
    return dout;
  }
}

}  // namespace loglin

// The CUDA implementations of causal_conv1d in the project's kernel
// registry (ops/kernel_registry.h):
//   v2  rank 2: taps in registers, each input row loaded once per row range,
//       one fused backward pass (W <= 8, B*T <= 2^30: the Mamba case W = 4);
//   v1  rank 1: one channel per thread, taps read from memory; any W.
// LOGLIN_KERNELS=causal_conv1d=v1 pins v1 (the tests run both).
#pragma once
#include <cstdint>
#include <vector>

namespace loglin {

struct CausalConv1dCall {
  int64_t W = 0, rows = 0;  // taps; B * T
};

struct CausalConv1dVersion {
  const char* name = "";
  const char* about = "";
  int rank = 0;
  bool in_auto = true;
  bool (*takes)(const CausalConv1dCall&) = nullptr;
};

// Best rank first; empty in builds without CUDA.
const std::vector<CausalConv1dVersion>& causal_conv1d_versions();

}  // namespace loglin

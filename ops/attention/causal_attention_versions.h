// The CUDA implementations of causal_attention in the project's kernel
// registry (ops/kernel_registry.h), so one setting pins either one:
//   simt         rank 1: the SIMT forward and backward (causal_attention_cuda.cu);
//                f32, f64 and bf16, any head dim.
//   tensor_core  rank 2: the WMMA bf16 forward (causal_attention_tc_cuda.cu)
//                and backward (causal_attention_tc_backward_cuda.cu), f32
//                accumulation; bf16 inputs (or f32 under bf16 autocast), head
//                dims the kernels take (64, 128).
// LOGLIN_KERNELS=causal_attention=simt, or
// set_kernel_version("causal_attention", "simt"), runs bf16 on the SIMT
// kernels (tests compare the two).
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace loglin {

// What a version needs to know of a call.
struct CausalAttentionCall {
  DType dtype = DType::f32;  // of q, k, v as the kernels get them
  int64_t D = 0;             // head dim
  int device = 0;
};

struct CausalAttentionVersion {
  const char* name = "";
  const char* about = "";
  int rank = 0;
  bool in_auto = true;
  bool tensor_cores = false;
  bool (*takes)(const CausalAttentionCall&) = nullptr;
};

// Best rank first; empty in builds without CUDA.
const std::vector<CausalAttentionVersion>& causal_attention_versions();

}  // namespace loglin

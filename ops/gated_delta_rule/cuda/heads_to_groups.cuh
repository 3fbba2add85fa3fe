// dq, dk [rows, G, K] from per-head dq, dk [rows, H, K]: each group's heads
// summed in head order (fixed order, no atomics: bitwise reproducible). The
// CUDA versions compute dq, dk per head and end with this kernel.
#pragma once
#include "core/cuda_launch.cuh"
#include "ops/gated_delta_rule/cuda/gdr_cuda.h"

namespace loglin::gdr {

template <class T>
__global__ void gdr_heads_to_groups_kernel(GpuProblem p, const T* dq_head, const T* dk_head, T* dq, T* dk) {
  const int64_t total = p.rows * p.G * p.K, per = p.H / p.G;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = idx / (p.G * p.K), grp = (idx / p.K) % p.G, x = idx % p.K;
    T sq = 0, sk = 0;
    for (int64_t hh = grp * per; hh < (grp + 1) * per; ++hh) {
      sq += dq_head[(row * p.H + hh) * p.K + x];
      sk += dk_head[(row * p.H + hh) * p.K + x];
    }
    dq[idx] = sq;
    dk[idx] = sk;
  }
}

template <class T>
void heads_to_groups(const GpuProblem& p, const T* dq_head, const T* dk_head, T* dq, T* dk, const char* op) {
  gdr_heads_to_groups_kernel<T><<<cuda::blocks_for(p.rows * p.G * p.K), cuda::kThreads, 0, cuda::stream(p.device)>>>(
      p, dq_head, dk_head, dq, dk);
  LOGLIN_CUDA_LAUNCHED(op);
}

}  // namespace loglin::gdr

// LOGLIN_HD marks scalar math that both the CPU loops (g++) and the CUDA
// kernels (nvcc) call, so an op's formula is written once.
#pragma once

#if defined(__CUDACC__)
#define LOGLIN_HD __host__ __device__ __forceinline__
#else
#define LOGLIN_HD inline
#endif

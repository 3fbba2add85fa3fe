// Every CUDA runtime call goes through LOGLIN_CUDA_CHECK(call, "op"): a failure
// becomes a loglin::Error naming the op, the call and CUDA's own message.
#pragma once
#include <cuda_runtime.h>

#include "core/error.h"

#define LOGLIN_CUDA_CHECK(call, op)                                                                        \
  do {                                                                                                     \
    cudaError_t loglin_err_ = (call);                                                                      \
    if (loglin_err_ != cudaSuccess)                                                                        \
      throw ::loglin::Error(fmt::format("[{}] {} failed: {} ({})", op, #call, cudaGetErrorString(loglin_err_), \
                                        cudaGetErrorName(loglin_err_)));                                   \
  } while (0)

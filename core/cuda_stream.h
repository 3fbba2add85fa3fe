// The one stream per device that every loglin kernel, copy and cuBLAS call
// runs on. Stream order is what makes the caching allocator safe: a block
// freed on the host is reused only by work queued after the work that read it.
// Needs the CUDA headers: include from .cu files or LOGLIN_WITH_CUDA code.
#pragma once
#include <cuda_runtime.h>

namespace loglin::cuda {

// Also makes `device` the calling thread's current device.
cudaStream_t stream(int device);

}  // namespace loglin::cuda

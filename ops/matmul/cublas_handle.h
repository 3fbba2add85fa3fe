// The cuBLAS handle of each CUDA device, and the status check every cuBLAS
// call goes through. For LOGLIN_WITH_CUDA code only (needs the cuBLAS headers).
//
// One handle per device, created on first use, bound to cuda::stream(device)
// so products are ordered with every other kernel and copy, and given its own
// workspace (without one, cuBLAS allocates and frees its own behind the
// caching allocator's back). Like the stream, a handle is shared by the
// threads that use one device: loglin queues device work from one thread.
#pragma once
#if LOGLIN_WITH_CUDA
#include <cublas_v2.h>

#include <string_view>

#include "core/error.h"

namespace loglin::cuda {

cublasHandle_t cublas_handle(int device);

// The function name of a stringified call: "cublasGemmEx(h, ...)" -> "cublasGemmEx".
inline std::string_view cublas_call_name(std::string_view call) { return call.substr(0, call.find('(')); }

}  // namespace loglin::cuda

// A failed cuBLAS call becomes a loglin::Error naming the op, the call and
// cuBLAS's own status name and description.
#define LOGLIN_CUBLAS_CHECK(call, op)                                                                  \
  do {                                                                                                 \
    cublasStatus_t loglin_status_ = (call);                                                            \
    if (loglin_status_ != CUBLAS_STATUS_SUCCESS)                                                       \
      throw ::loglin::Error(fmt::format("[{}] {} failed: {} ({})", op,                                 \
                                        ::loglin::cuda::cublas_call_name(#call),                       \
                                        cublasGetStatusName(loglin_status_),                           \
                                        cublasGetStatusString(loglin_status_)));                       \
  } while (0)

#endif  // LOGLIN_WITH_CUDA

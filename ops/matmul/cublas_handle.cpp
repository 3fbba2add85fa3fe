#include "ops/matmul/cublas_handle.h"

#if LOGLIN_WITH_CUDA
#include <cuda_runtime.h>

#include <mutex>

#include "core/cuda_check.h"
#include "core/cuda_stream.h"

namespace loglin::cuda {
namespace {

constexpr int kMaxDevices = 64;
// cuBLAS asks for 32 MiB on Hopper to reach its fastest kernels.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;

struct DeviceBlas {
  std::once_flag created;
  cublasHandle_t handle = nullptr;
};

DeviceBlas& device_blas(int device) {
  static DeviceBlas* all = new DeviceBlas[kMaxDevices];  // never destroyed: matmuls may run during exit
  LOGLIN_CHECK(device >= 0 && device < kMaxDevices, "[cublas] device index {} out of range", device);
  return all[device];
}

}  // namespace

cublasHandle_t cublas_handle(int device) {
  DeviceBlas& d = device_blas(device);
  // Also makes `device` current, which cublasCreate binds the handle to.
  cudaStream_t s = stream(device);
  std::call_once(d.created, [&] {
    cublasHandle_t h = nullptr;
    LOGLIN_CUBLAS_CHECK(cublasCreate(&h), "cublas");
    void* workspace = nullptr;
    LOGLIN_CUDA_CHECK(cudaMalloc(&workspace, kWorkspaceBytes), "cublas workspace");
    // Stream first: cublasSetStream resets the workspace to cuBLAS's own pool.
    LOGLIN_CUBLAS_CHECK(cublasSetStream(h, s), "cublas");
    LOGLIN_CUBLAS_CHECK(cublasSetWorkspace(h, workspace, kWorkspaceBytes), "cublas");
    // TF32 only where a call asks for it (CUBLAS_COMPUTE_32F_FAST_TF32).
    LOGLIN_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "cublas");
    d.handle = h;
  });
  return d.handle;
}

}  // namespace loglin::cuda

#endif  // LOGLIN_WITH_CUDA

// The CUDA side of core/device.h for builds with LOGLIN_CUDA on.
#include <cuda_runtime.h>

#include "core/device.h"

namespace loglin {

bool built_with_cuda() { return true; }

int cuda_device_count() {
  int n = 0;
  // No device (or no driver) is an ordinary answer here: CPU-only machines run
  // CUDA builds too, and their [cuda] tests skip.
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return n;
}

}  // namespace loglin

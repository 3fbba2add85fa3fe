// The CUDA side of core/device.h for builds with LOGLIN_CUDA on.
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

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

std::string cuda_device_description(int index) {
  cudaDeviceProp prop{};
  if (index < 0 || index >= cuda_device_count() || cudaGetDeviceProperties(&prop, index) != cudaSuccess) {
    cudaGetLastError();
    return "";
  }
  char buf[320];
  std::snprintf(buf, sizeof buf, "%s, %.1f GiB, sm_%d%d", prop.name,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024 * 1024), prop.major, prop.minor);
  return buf;
}

}  // namespace loglin

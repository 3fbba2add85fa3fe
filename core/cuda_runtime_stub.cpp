// core/device.h for builds without CUDA (LOGLIN_CUDA=OFF or no nvcc found).
#include "core/device.h"

namespace loglin {

bool built_with_cuda() { return false; }
int cuda_device_count() { return 0; }

}  // namespace loglin

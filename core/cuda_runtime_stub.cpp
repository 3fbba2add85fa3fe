// core/device.h for builds without CUDA (LOGLIN_CUDA=OFF or no nvcc found).
#include "core/device.h"

namespace loglin {

bool built_with_cuda() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_description(int) { return ""; }

}  // namespace loglin

// ---- core/cuda_memory.h without CUDA ----
#include "core/cuda_memory.h"
#include "core/error.h"

namespace loglin::cuda {
namespace {
[[noreturn]] void no_cuda() {
  LOGLIN_FAIL("[cuda] this loglin was built without CUDA (configure with -DLOGLIN_CUDA=ON on a machine with nvcc)");
}
}  // namespace
void* allocate(size_t, int) { no_cuda(); }
void free(void*, size_t, int) {}
MemoryStats memory_stats(int) { no_cuda(); }
void reset_peak_memory(int) { no_cuda(); }
void empty_cache(int) { no_cuda(); }
void copy_host_to_device(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_host(void*, const void*, size_t, int) { no_cuda(); }
void copy_device_to_device(void*, const void*, size_t, int) { no_cuda(); }
void fill_zero(void*, size_t, int) { no_cuda(); }
void synchronize(int) { no_cuda(); }
}  // namespace loglin::cuda

// ---- core/cuda_copy.h without CUDA ----
#include "core/cuda_copy.h"

namespace loglin::cuda {
void copy_strided(void*, DType, const StridedLayout&, const void*, DType, const StridedLayout&, int64_t, int) {
  LOGLIN_FAIL("[cuda] this loglin was built without CUDA");
}
void fill(void*, DType, const StridedLayout&, double, int64_t, int) { LOGLIN_FAIL("[cuda] this loglin was built without CUDA"); }
void add(void*, const void*, const void*, DType, int64_t, int) { LOGLIN_FAIL("[cuda] this loglin was built without CUDA"); }
}  // namespace loglin::cuda

// ---- core/cuda_events.h without CUDA ----
#include "core/cuda_events.h"

namespace loglin::cuda {
void* event_create(int) { LOGLIN_FAIL("[timer] this loglin was built without CUDA: time CUDA work in a CUDA build"); }
void event_destroy(void*, int) {}  // nothing was created; destructors call it
void event_record(void*, int) { LOGLIN_FAIL("[timer] this loglin was built without CUDA"); }
double event_elapsed_ms(void*, void*, int) { LOGLIN_FAIL("[timer] this loglin was built without CUDA"); }
}  // namespace loglin::cuda

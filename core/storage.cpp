#include "core/storage.h"

#include "core/allocator.h"
#include "core/cuda_memory.h"
#include "core/error.h"

namespace loglin {

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  if (device.is_cuda()) {
    LOGLIN_CHECK(built_with_cuda(), "[tensor] {} requested, but this loglin was built without CUDA (configure with -DLOGLIN_CUDA=ON)",
                 device.str());
    data_ = cuda::allocate(nbytes, device.index);
    return;
  }
  data_ = cpu_allocate(nbytes);
}

Storage::~Storage() {
  if (device_.is_cpu()) cpu_free(data_, nbytes_);
  else cuda::free(data_, nbytes_, device_.index);
}

}  // namespace loglin

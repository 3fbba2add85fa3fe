// Scratch device memory for multi-pass kernels (partial sums, segment
// totals), from the caching allocator. Freeing right after queuing the
// kernels is safe: the allocator hands a freed block only to work queued
// later on the same stream (core/cuda_stream.h).
#pragma once
#include <cstddef>

#include "core/cuda_memory.h"

namespace loglin::cuda {

template <class A> class Workspace {
 public:
  Workspace(int64_t count, int device)
      : bytes_(static_cast<size_t>(count > 0 ? count : 0) * sizeof(A)), device_(device) {
    if (bytes_ > 0) p_ = static_cast<A*>(cuda::allocate(bytes_, device_));
  }
  ~Workspace() {
    if (p_) cuda::free(p_, bytes_, device_);
  }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  A* get() const { return p_; }

 private:
  A* p_ = nullptr;
  size_t bytes_;
  int device_;
};

}  // namespace loglin::cuda

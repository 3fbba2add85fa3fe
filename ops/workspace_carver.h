// Carves aligned pieces out of one workspace buffer, as the CUDA kernel
// versions get theirs (one device buffer per pass): each piece starts on a
// 256-byte boundary. With base == null it only counts the bytes, so the
// same carving code sizes the buffer and fills it. Plain C++ (nvcc
// includes it too).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace loglin {

class WorkspaceCarver {
 public:
  explicit WorkspaceCarver(void* base) : base_(static_cast<char*>(base)) {}
  template <class X>
  X* take(int64_t count) {
    const size_t bytes = static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(X);
    X* out = base_ ? reinterpret_cast<X*>(base_ + used_) : nullptr;
    used_ += (bytes + 255) / 256 * 256;
    return out;
  }
  size_t used() const { return used_; }

 private:
  char* base_;
  size_t used_ = 0;
};

}  // namespace loglin

#include "core/cuda_launch.cuh"
#include "core/cuda_memory.h"
#include "train/optim/multi_tensor_cuda.h"

namespace loglin::cuda {

ChunkTable::~ChunkTable() { release(); }

// Also runs at exit, possibly after the CUDA runtime has shut down: errors are
// ignored here, there is nobody left to report them to.
void ChunkTable::release() noexcept {
  if (copied_) {
    cudaEventSynchronize(static_cast<cudaEvent_t>(copied_));
    cudaEventDestroy(static_cast<cudaEvent_t>(copied_));
  }
  if (staging_) cudaFreeHost(staging_);
  // The caching allocator hands the block out again only to work queued after
  // the kernels that still read it.
  if (table_) cuda::free(table_, capacity_ * sizeof(ParamChunk), device_);
  cudaGetLastError();
  copied_ = nullptr, staging_ = nullptr, table_ = nullptr;
  capacity_ = 0;
  device_ = -1;
  uploaded_.clear();
}

const ParamChunk* ChunkTable::upload(const std::vector<ParamChunk>& chunks, int device, const char* op) {
  if (device == device_ && table_ && chunks == uploaded_) return table_;
  cudaStream_t s = stream(device);
  if (device != device_ || chunks.size() > capacity_) {
    const size_t want = std::max<size_t>({chunks.size(), 2 * capacity_, 64});
    release();
    LOGLIN_CUDA_CHECK(cudaEventCreateWithFlags(reinterpret_cast<cudaEvent_t*>(&copied_), cudaEventDisableTiming), op);
    LOGLIN_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&staging_), want * sizeof(ParamChunk), cudaHostAllocDefault),
                      op);
    table_ = static_cast<ParamChunk*>(cuda::allocate(want * sizeof(ParamChunk), device));
    capacity_ = want;
    device_ = device;
  } else {
    // The previous upload may still be reading the staging buffer.
    LOGLIN_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(copied_)), op);
  }
  std::copy(chunks.begin(), chunks.end(), staging_);
  if (!chunks.empty()) {
    LOGLIN_CUDA_CHECK(
        cudaMemcpyAsync(table_, staging_, chunks.size() * sizeof(ParamChunk), cudaMemcpyHostToDevice, s), op);
    LOGLIN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(copied_), s), op);
  }
  uploaded_ = chunks;
  return table_;
}

}  // namespace loglin::cuda

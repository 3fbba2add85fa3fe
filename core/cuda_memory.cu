#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_memory.h"
#include "core/cuda_stream.h"
#include "core/device.h"

namespace loglin::cuda {
namespace {

struct DevicePool {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  MemoryStats stats;
  cudaStream_t stream = nullptr;
};

constexpr int kMaxDevices = 64;

DevicePool& pool(int device) {
  static DevicePool* pools = new DevicePool[kMaxDevices];  // never destroyed: frees may come late at exit
  LOGLIN_CHECK(device >= 0 && device < kMaxDevices, "[cuda] device index {} out of range", device);
  return pools[device];
}

size_t rounded(size_t n) {
  const size_t step = n < (size_t{1} << 20) ? 512 : (size_t{2} << 20);
  n = n == 0 ? 1 : n;
  return (n + step - 1) / step * step;
}

void check_device(int device) {
  int count = cuda_device_count();
  LOGLIN_CHECK(device >= 0 && device < count, "[cuda] cuda:{} requested but {} CUDA device(s) are present", device,
               count);
}

}  // namespace

cudaStream_t stream(int device) {
  // Kernels launch on the calling thread's current device, so make it this
  // one; remembering the last choice keeps cudaSetDevice off the hot path.
  thread_local int current = -1;
  if (current != device) {
    LOGLIN_CUDA_CHECK(cudaSetDevice(device), "cuda");
    current = device;
  }
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  if (!p.stream) LOGLIN_CUDA_CHECK(cudaStreamCreateWithFlags(&p.stream, cudaStreamNonBlocking), "cuda");
  return p.stream;
}

void synchronize(int device) { LOGLIN_CUDA_CHECK(cudaStreamSynchronize(stream(device)), "cuda synchronize"); }

void* allocate(size_t nbytes, int device) {
  check_device(device);
  const size_t size = rounded(nbytes);
  DevicePool& p = pool(device);
  void* ptr = nullptr;
  {
    std::lock_guard<std::mutex> lock(p.mu);
    auto it = p.free_blocks.find(size);
    if (it != p.free_blocks.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
      p.stats.cached_bytes -= static_cast<int64_t>(size);
    }
  }
  if (!ptr) {
    LOGLIN_CUDA_CHECK(cudaSetDevice(device), "cuda");
    cudaError_t err = cudaMalloc(&ptr, size);
    if (err == cudaErrorMemoryAllocation) {
      // Give the cache back and try once more before failing.
      cudaGetLastError();
      empty_cache(device);
      err = cudaMalloc(&ptr, size);
    }
    LOGLIN_CUDA_CHECK(err, "cuda allocator");
  }
  std::lock_guard<std::mutex> lock(p.mu);
  p.stats.bytes_in_use += static_cast<int64_t>(nbytes);
  p.stats.peak_bytes = std::max(p.stats.peak_bytes, p.stats.bytes_in_use);
  p.stats.live_blocks += 1;
  p.stats.total_allocations += 1;
  return ptr;
}

void free(void* ptr, size_t nbytes, int device) {
  if (!ptr) return;
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  p.free_blocks[rounded(nbytes)].push_back(ptr);
  p.stats.cached_bytes += static_cast<int64_t>(rounded(nbytes));
  p.stats.bytes_in_use -= static_cast<int64_t>(nbytes);
  p.stats.live_blocks -= 1;
}

MemoryStats memory_stats(int device) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  return p.stats;
}

void reset_peak_memory(int device) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  p.stats.peak_bytes = p.stats.bytes_in_use;
}

void empty_cache(int device) {
  DevicePool& p = pool(device);
  std::lock_guard<std::mutex> lock(p.mu);
  if (p.stream) LOGLIN_CUDA_CHECK(cudaStreamSynchronize(p.stream), "cuda empty_cache");
  for (auto& [size, blocks] : p.free_blocks)
    for (void* b : blocks) LOGLIN_CUDA_CHECK(cudaFree(b), "cuda empty_cache");
  p.free_blocks.clear();
  p.stats.cached_bytes = 0;
}

namespace {

// Pinned host buffers that small uploads (token batches, index tables) pass
// through: the copy from pinned memory is truly asynchronous, so the host
// returns at once and goes on queueing work. Two slots alternate; a slot is
// reused only after the event recorded behind its last copy has fired.
struct StagingSlot {
  void* host = nullptr;
  size_t capacity = 0;
  cudaEvent_t done = nullptr;
  bool pending = false;
};

constexpr size_t kStagingMax = size_t{64} << 20;

struct Staging {
  std::mutex mu;
  StagingSlot slots[2];
  int next = 0;
};

Staging& staging(int device) {
  static Staging* all = new Staging[kMaxDevices];  // never destroyed, like the pools
  return all[device];
}

}  // namespace

void copy_host_to_device(void* dst, const void* src, size_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  if (n > kStagingMax) {
    LOGLIN_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, s), "to(cuda)");
    // Pageable source: it may be freed as soon as we return.
    LOGLIN_CUDA_CHECK(cudaStreamSynchronize(s), "to(cuda)");
    return;
  }
  Staging& st = staging(device);
  std::lock_guard<std::mutex> lock(st.mu);
  StagingSlot& slot = st.slots[st.next];
  st.next ^= 1;
  if (slot.pending) LOGLIN_CUDA_CHECK(cudaEventSynchronize(slot.done), "to(cuda) pinned staging");
  slot.pending = false;
  if (slot.capacity < n) {
    if (slot.host) LOGLIN_CUDA_CHECK(cudaFreeHost(slot.host), "to(cuda) pinned staging");
    slot.host = nullptr;
    slot.capacity = 0;
    const size_t cap = std::max<size_t>(n, size_t{1} << 20);
    LOGLIN_CUDA_CHECK(cudaHostAlloc(&slot.host, cap, cudaHostAllocDefault), "to(cuda) pinned staging");
    slot.capacity = cap;
  }
  if (!slot.done) LOGLIN_CUDA_CHECK(cudaEventCreateWithFlags(&slot.done, cudaEventDisableTiming), "to(cuda)");
  std::memcpy(slot.host, src, n);
  LOGLIN_CUDA_CHECK(cudaMemcpyAsync(dst, slot.host, n, cudaMemcpyHostToDevice, s), "to(cuda)");
  LOGLIN_CUDA_CHECK(cudaEventRecord(slot.done, s), "to(cuda)");
  slot.pending = true;
}

void copy_device_to_host(void* dst, const void* src, size_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  LOGLIN_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, s), "to(cpu)");
  LOGLIN_CUDA_CHECK(cudaStreamSynchronize(s), "to(cpu)");
}

void copy_device_to_device(void* dst, const void* src, size_t n, int device) {
  if (n == 0) return;
  LOGLIN_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream(device)), "copy");
}

void fill_zero(void* p, size_t n, int device) {
  if (n == 0) return;
  LOGLIN_CUDA_CHECK(cudaMemsetAsync(p, 0, n, stream(device)), "zeros");
}

}  // namespace loglin::cuda

// Embedding on CUDA. Forward: a row gather, one block per output row at a
// time (grid-stride over rows, threads over D). Backward: the same walk,
// scatter-adding each dy row into dweight with atomicAdd (native for f32 and
// f64 on sm_60+); summation order is then nondeterministic.
#include <math_constants.h>

#include <mutex>

#include "core/cuda_launch.cuh"
#include "ops/embedding/embedding_cuda.h"

namespace loglin::cuda {
namespace {

constexpr int kMaxDevices = 64;

// Written by kernels, read by the host without a sync: host memory mapped
// into the device's address space.
struct BadIdSlot {
  int64_t flag;
  int64_t id;
  int64_t vocab;
};

BadIdSlot* bad_id_slots() {
  static BadIdSlot* slots = [] {
    void* p = nullptr;
    LOGLIN_CUDA_CHECK(cudaHostAlloc(&p, sizeof(BadIdSlot) * kMaxDevices, cudaHostAllocMapped | cudaHostAllocPortable),
                      "embedding");
    auto* s = static_cast<BadIdSlot*>(p);
    for (int d = 0; d < kMaxDevices; ++d) s[d] = BadIdSlot{0, 0, 0};
    return s;
  }();
  return slots;
}

BadIdSlot* bad_id_slot_on_device(int device) {
  LOGLIN_CHECK(device >= 0 && device < kMaxDevices, "[embedding] device index {} is out of range", device);
  void* d = nullptr;
  LOGLIN_CUDA_CHECK(cudaHostGetDevicePointer(&d, bad_id_slots() + device, 0), "embedding");
  return static_cast<BadIdSlot*>(d);
}

template <class T> __device__ __forceinline__ T quiet_nan();
template <> __device__ __forceinline__ float quiet_nan<float>() { return CUDART_NAN_F; }
template <> __device__ __forceinline__ double quiet_nan<double>() { return CUDART_NAN; }

// Racing writers may mix their ids, but each field is one aligned 8-byte
// store, so the host always reads a real bad id. The fence orders the id
// before the flag as the host sees them.
__device__ __forceinline__ void report_bad_id(BadIdSlot* slot, int64_t id, int64_t vocab) {
  volatile BadIdSlot* s = slot;
  s->id = id;
  s->vocab = vocab;
  __threadfence_system();
  s->flag = 1;
}

// Threads per row: whole warps, at most 256, about four elements each.
int row_threads(int64_t D) {
  const int64_t t = ((D + 3) / 4 + 31) / 32 * 32;
  return static_cast<int>(std::clamp<int64_t>(t, 32, 256));
}

unsigned row_blocks(int64_t rows) { return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, int64_t{1} << 20)); }

// weight (V, D), ids (N), out (N, D).
template <class T, class I>
__global__ void embedding_fwd_kernel(const T* weight, const I* ids, T* out, int64_t N, int64_t V, int64_t D,
                                     BadIdSlot* bad) {
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int64_t id = static_cast<int64_t>(ids[n]);
    T* o = out + n * D;
    if (id < 0 || id >= V) {
      if (threadIdx.x == 0) report_bad_id(bad, id, V);
      for (int64_t j = threadIdx.x; j < D; j += blockDim.x) o[j] = quiet_nan<T>();
      continue;
    }
    const T* src = weight + id * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) o[j] = src[j];
  }
}

// dy (N, D), ids (N), dweight (V, D) zeroed.
template <class T, class I>
__global__ void embedding_bwd_kernel(const T* dy, const I* ids, T* dweight, int64_t N, int64_t V, int64_t D,
                                     BadIdSlot* bad) {
  for (int64_t n = blockIdx.x; n < N; n += gridDim.x) {
    const int64_t id = static_cast<int64_t>(ids[n]);
    if (id < 0 || id >= V) {
      if (threadIdx.x == 0) report_bad_id(bad, id, V);
      continue;
    }
    const T* g = dy + n * D;
    T* dst = dweight + id * D;
    for (int64_t j = threadIdx.x; j < D; j += blockDim.x) atomicAdd(dst + j, g[j]);
  }
}

}  // namespace

template <class T, class I>
void embedding_fwd(const T* weight, const I* ids, T* out, int64_t N, int64_t V, int64_t D, int device) {
  if (N == 0) return;
  cudaStream_t s = stream(device);
  BadIdSlot* bad = bad_id_slot_on_device(device);
  embedding_fwd_kernel<T, I><<<row_blocks(N), row_threads(D), 0, s>>>(weight, ids, out, N, V, D, bad);
  LOGLIN_CUDA_LAUNCHED("embedding");
}

template <class T, class I>
void embedding_bwd(const T* dy, const I* ids, T* dweight, int64_t N, int64_t V, int64_t D, int device) {
  if (N == 0) return;
  cudaStream_t s = stream(device);
  BadIdSlot* bad = bad_id_slot_on_device(device);
  embedding_bwd_kernel<T, I><<<row_blocks(N), row_threads(D), 0, s>>>(dy, ids, dweight, N, V, D, bad);
  LOGLIN_CUDA_LAUNCHED("embedding");
}

bool embedding_take_bad_id(int device, int64_t& id, int64_t& vocab) {
  LOGLIN_CHECK(device >= 0 && device < kMaxDevices, "[embedding] device index {} is out of range", device);
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  volatile BadIdSlot* s = bad_id_slots() + device;
  if (s->flag == 0) return false;
  id = s->id;
  vocab = s->vocab;
  s->flag = 0;
  return true;
}

template void embedding_fwd<float, int32_t>(const float*, const int32_t*, float*, int64_t, int64_t, int64_t, int);
template void embedding_fwd<float, int64_t>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t, int);
template void embedding_fwd<double, int32_t>(const double*, const int32_t*, double*, int64_t, int64_t, int64_t, int);
template void embedding_fwd<double, int64_t>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t, int);
template void embedding_bwd<float, int32_t>(const float*, const int32_t*, float*, int64_t, int64_t, int64_t, int);
template void embedding_bwd<float, int64_t>(const float*, const int64_t*, float*, int64_t, int64_t, int64_t, int);
template void embedding_bwd<double, int32_t>(const double*, const int32_t*, double*, int64_t, int64_t, int64_t, int);
template void embedding_bwd<double, int64_t>(const double*, const int64_t*, double*, int64_t, int64_t, int64_t, int);

}  // namespace loglin::cuda

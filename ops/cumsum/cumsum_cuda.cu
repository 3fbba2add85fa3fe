// cumsum kernels. There are outer * inner independent scans of length n.
// Each scan is cut into S segments of L steps so that there are enough
// threads to fill the GPU even when the scans are few and long (e.g. a
// [B, T, H] gate cumsum over T = 8192 with B * H = 64); one thread owns one
// (scan, segment):
//   1. segment totals,
//   2. per scan, an exclusive scan of its S totals (the segments' carries),
//   3. each segment scanned again from its carry, writing out.
// With S == 1 only step 3 runs. The summation order depends on the shape
// alone: deterministic. Sums accumulate in T (f32 in f32).
#include "core/cuda_launch.cuh"
#include "ops/cumsum/cumsum_cuda.h"
#include "ops/reduce/workspace.cuh"

namespace loglin::cuda {
namespace {

// Stop cutting segments at about this many threads, or at kMinSegment steps.
constexpr int64_t kTargetThreads = int64_t{1} << 17;
constexpr int64_t kMinSegment = 16;

__host__ __device__ __forceinline__ int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct ScanGeometry {
  int64_t outer, n, inner, segments, seg_len;
  bool reverse;

  __device__ __forceinline__ int64_t scans() const { return outer * inner; }
  // Thread item -> (scan, segment). With inner == 1 a scan is a contiguous
  // row, so neighbouring threads take neighbouring segments of one row;
  // otherwise neighbouring threads take neighbouring columns (inner index)
  // at the same steps: both keep a warp's reads close together.
  __device__ __forceinline__ void item(int64_t it, int64_t& scan, int64_t& seg) const {
    if (inner == 1) {
      scan = it / segments;
      seg = it - scan * segments;
    } else {
      seg = it / scans();
      scan = it - seg * scans();
    }
  }
  __device__ __forceinline__ int64_t base(int64_t scan) const {
    const int64_t o = scan / inner;
    return o * n * inner + (scan - o * inner);
  }
  // Offset of scan step j (in scan order) from the scan's base.
  __device__ __forceinline__ int64_t step(int64_t j) const { return (reverse ? n - 1 - j : j) * inner; }
};

template <class T>
__global__ void cumsum_segment_totals_kernel(const T* x, acc_t<T>* totals, ScanGeometry g) {
  using A = acc_t<T>;
  const int64_t items = g.scans() * g.segments;
  for (int64_t it = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; it < items; it += int64_t(gridDim.x) * blockDim.x) {
    int64_t scan, seg;
    g.item(it, scan, seg);
    const T* p = x + g.base(scan);
    const int64_t j0 = seg * g.seg_len, j1 = j0 + g.seg_len < g.n ? j0 + g.seg_len : g.n;
    A s = A(0);
    for (int64_t j = j0; j < j1; ++j) s += load_acc(p + g.step(j));
    totals[scan * g.segments + seg] = s;
  }
}

// totals[scan, :] becomes its exclusive prefix sum: each segment's carry.
template <class A>
__global__ void cumsum_carries_kernel(A* totals, int64_t scans, int64_t segments) {
  for (int64_t scan = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; scan < scans;
       scan += int64_t(gridDim.x) * blockDim.x) {
    A* t = totals + scan * segments;
    A carry = A(0);
    for (int64_t k = 0; k < segments; ++k) {
      const A v = t[k];
      t[k] = carry;
      carry += v;
    }
  }
}

// carries == nullptr: one segment per scan, starting from 0.
template <class T>
__global__ void cumsum_segments_kernel(const T* x, T* out, const acc_t<T>* carries, ScanGeometry g) {
  using A = acc_t<T>;
  const int64_t items = g.scans() * g.segments;
  for (int64_t it = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; it < items; it += int64_t(gridDim.x) * blockDim.x) {
    int64_t scan, seg;
    g.item(it, scan, seg);
    const int64_t b = g.base(scan);
    const int64_t j0 = seg * g.seg_len, j1 = j0 + g.seg_len < g.n ? j0 + g.seg_len : g.n;
    A acc = carries ? carries[scan * g.segments + seg] : A(0);
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t k = b + g.step(j);
      acc += load_acc(x + k);
      store_from(out + k, acc);
    }
  }
}

}  // namespace

template <class T>
void cumsum(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, bool reverse, int device) {
  using A = acc_t<T>;
  const int64_t scans = outer * inner;
  if (scans == 0 || n == 0) return;
  cudaStream_t s = stream(device);
  int64_t segments = 1;
  if (scans < kTargetThreads && n >= 2 * kMinSegment)
    segments = std::min(ceil_div(kTargetThreads, scans), ceil_div(n, kMinSegment));
  const int64_t seg_len = ceil_div(n, segments);
  segments = ceil_div(n, seg_len);
  const ScanGeometry g{outer, n, inner, segments, seg_len, reverse};
  const unsigned blocks = blocks_for(scans * segments);
  if (segments == 1) {
    cumsum_segments_kernel<T><<<blocks, kThreads, 0, s>>>(x, out, nullptr, g);
    LOGLIN_CUDA_LAUNCHED("cumsum");
    return;
  }
  Workspace<A> totals(scans * segments, device);
  cumsum_segment_totals_kernel<T><<<blocks, kThreads, 0, s>>>(x, totals.get(), g);
  LOGLIN_CUDA_LAUNCHED("cumsum");
  cumsum_carries_kernel<A><<<blocks_for(scans), kThreads, 0, s>>>(totals.get(), scans, segments);
  LOGLIN_CUDA_LAUNCHED("cumsum");
  cumsum_segments_kernel<T><<<blocks, kThreads, 0, s>>>(x, out, totals.get(), g);
  LOGLIN_CUDA_LAUNCHED("cumsum");
}

template void cumsum<float>(const float*, float*, int64_t, int64_t, int64_t, bool, int);
template void cumsum<double>(const double*, double*, int64_t, int64_t, int64_t, bool, int);

}  // namespace loglin::cuda

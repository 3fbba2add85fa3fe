// Row dot products for sum_to_shape_of_product: out[r] = sum_c g[r, c] a[r, c]
// over rows whose inner block is contiguous (the rows themselves may sit at
// any strides, e.g. x [B,T,H,P] split off a wider projection). What it is
// for: mul's backward for x [B,T,H,P] * s [B,T,H,1] (or [H,1]) with P = 64,
// millions of short rows, where the generic path writes the product g * x
// and then reduces it with a warp per 64-long row (half the warp idle).
//
// Work items are (row, chunk) pairs; a chunk is the whole row unless a few
// very long rows must be cut to fill the GPU (sum_rows then adds the chunks'
// partials in a second pass). A team of threads owns an item:
//  - items of up to kTeamMaxUnits units: a sub-warp team of L = 4, 8, 16 or
//    32 lanes (the item's units rounded up to a power of two, at least 4),
//    32 / L items per warp, reduced with xor shuffles inside the team;
//  - longer items: a block of kThreadsPerBlock threads (BlockTeam).
// A unit is a 16-byte pack (4 f32, 2 f64 or 8 bf16) when the inner length,
// both base pointers and every row stride keep packs 16-byte aligned (one
// vector load of g and one of a per unit), else a single element. P = 64
// f32: 16 packs, so 16 lanes load one float4 of g and of a each, and a warp
// finishes two rows per step.
// Sums accumulate in acc_t (f32 for f32 and bf16, f64 for f64) in an order
// fixed by the shape alone: deterministic.
#include <type_traits>

#include "core/cuda_launch.cuh"
#include "ops/elementwise/sum_to_shape_of_product_cuda.h"
#include "ops/reduce/reduce_cuda.h"
#include "ops/reduce/team_reduce.cuh"
#include "ops/reduce/workspace.cuh"

namespace loglin::cuda {
namespace {

constexpr const char* kOp = "sum_to_shape_of_product";
constexpr int kThreadsPerBlock = 256;
// Items of more units than this go to a block: a 32-lane team would give
// each lane over 8 packs to walk one after another.
constexpr int64_t kTeamMaxUnits = 32 * 8;
// Rows are cut into chunks as sum_rows cuts them (ops/reduce/reduce_cuda.cu): with
// fewer rows than kTargetItems, rows over 2 * kMinChunk elements are split
// until about kTargetItems items run, chunks no shorter than kMinChunk.
constexpr int64_t kTargetItems = 1024;
constexpr int64_t kMinChunk = 4096;

__host__ __device__ __forceinline__ int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// A 16-byte pack of T: n elements; dot returns acc + the dot product of the
// packs at g and a (both 16-byte aligned).
template <class T> struct Pack;
template <> struct Pack<float> {
  static constexpr int n = 4;
  static __device__ __forceinline__ float dot(const float* g, const float* a, float acc) {
    const float4 x = *reinterpret_cast<const float4*>(g), y = *reinterpret_cast<const float4*>(a);
    acc += x.x * y.x;
    acc += x.y * y.y;
    acc += x.z * y.z;
    acc += x.w * y.w;
    return acc;
  }
};
template <> struct Pack<double> {
  static constexpr int n = 2;
  static __device__ __forceinline__ double dot(const double* g, const double* a, double acc) {
    const double2 x = *reinterpret_cast<const double2*>(g), y = *reinterpret_cast<const double2*>(a);
    acc += x.x * y.x;
    acc += x.y * y.y;
    return acc;
  }
};
template <> struct Pack<__nv_bfloat16> {
  static constexpr int n = 8;
  static __device__ __forceinline__ float dot(const __nv_bfloat16* g, const __nv_bfloat16* a, float acc) {
    const uint4 x = *reinterpret_cast<const uint4*>(g), y = *reinterpret_cast<const uint4*>(a);
    const __nv_bfloat162* xp = reinterpret_cast<const __nv_bfloat162*>(&x);
    const __nv_bfloat162* yp = reinterpret_cast<const __nv_bfloat162*>(&y);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 fx = __bfloat1622float2(xp[i]), fy = __bfloat1622float2(yp[i]);
      acc += fx.x * fy.x;
      acc += fx.y * fy.y;
    }
    return acc;
  }
};

// T is the device element type (__nv_bfloat16 for bf16). out holds one
// value per item: out[r] when chunks == 1, else partial[r * chunks + k].
template <class T> struct RowDotArgs {
  const T* g;
  const T* a;
  StridedLayout g_rows, a_rows;
  acc_t<T>* out;
  int64_t rows, inner, chunks, chunk_len;
  bool rows32;  // row indices fit 32 bits: decompose them with 32-bit division
};

// This thread's share (units rank, rank + size, ...) of item it's dot product.
template <bool kVec, class T>
__device__ __forceinline__ acc_t<T> item_dot(const RowDotArgs<T>& p, int64_t it, int rank, int size) {
  using A = acc_t<T>;
  const int64_t r = p.chunks == 1 ? it : it / p.chunks, k = it - r * p.chunks;
  const StridedLayout* const ls[2] = {&p.g_rows, &p.a_rows};
  int64_t off[2];
  if (p.rows32) offsets_of<uint32_t, 2>(static_cast<uint32_t>(r), ls, off);
  else offsets_of<int64_t, 2>(r, ls, off);
  const T* g = p.g + off[0];
  const T* a = p.a + off[1];
  const int64_t c0 = k * p.chunk_len, c1 = c0 + p.chunk_len < p.inner ? c0 + p.chunk_len : p.inner;
  A acc = A(0);
  if constexpr (kVec) {
    constexpr int n = Pack<T>::n;
    for (int64_t c = c0 + int64_t(rank) * n; c < c1; c += int64_t(size) * n) acc = Pack<T>::dot(g + c, a + c, acc);
  } else {
    for (int64_t c = c0 + rank; c < c1; c += size) acc += load_acc(g + c) * load_acc(a + c);
  }
  return acc;
}

// Teams of L lanes, 32 / L items per warp per step. The loop bound depends
// only on the warp, so every lane reaches the full-warp shuffles; xor masks
// below L stay inside a team.
template <int L, bool kVec, class T>
__global__ void __launch_bounds__(kThreadsPerBlock) row_dot_team_kernel(const RowDotArgs<T> p) {
  using A = acc_t<T>;
  constexpr int kPerWarp = 32 / L;
  const int lane = threadIdx.x & 31, rank = lane & (L - 1);
  const int64_t items = p.rows * p.chunks;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t warps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t base = warp * kPerWarp; base < items; base += warps * kPerWarp) {
    const int64_t it = base + lane / L;
    A acc = it < items ? item_dot<kVec>(p, it, rank, L) : A(0);
#pragma unroll
    for (int m = L / 2; m > 0; m >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, m);
    if (rank == 0 && it < items) p.out[it] = acc;
  }
}

// A block per item (long rows).
template <bool kVec, class T>
__global__ void __launch_bounds__(kThreadsPerBlock) row_dot_block_kernel(const RowDotArgs<T> p) {
  using A = acc_t<T>;
  const BlockTeam team{};
  const int64_t items = p.rows * p.chunks;
  for (int64_t it = team.id(); it < items; it += team.count()) {
    A acc = item_dot<kVec>(p, it, team.rank(), team.size());
    acc = team.allreduce(acc, SumOp<A>{});
    if (team.rank() == 0) p.out[it] = acc;
  }
}

template <int L, bool kVec, class T>
void launch_team(const RowDotArgs<T>& p, cudaStream_t s) {
  const int64_t warps = ceil_div(p.rows * p.chunks, 32 / L);
  row_dot_team_kernel<L, kVec, T><<<blocks_for(warps * 32, kThreadsPerBlock), kThreadsPerBlock, 0, s>>>(p);
}

// `units` per item: the smallest team that covers them (at least 4 lanes),
// or a block past kTeamMaxUnits.
template <bool kVec, class T>
void launch(const RowDotArgs<T>& p, int64_t units, cudaStream_t s) {
  if (units > kTeamMaxUnits)
    row_dot_block_kernel<kVec, T><<<block_team_blocks(p.rows * p.chunks), kThreadsPerBlock, 0, s>>>(p);
  else if (units > 16) launch_team<32, kVec>(p, s);
  else if (units > 8) launch_team<16, kVec>(p, s);
  else if (units > 4) launch_team<8, kVec>(p, s);
  else launch_team<4, kVec>(p, s);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

template <class T>
void row_dot(const T* g, const StridedLayout& g_rows, const T* a, const StridedLayout& a_rows, row_dot_acc_t<T>* out,
             int64_t rows, int64_t inner, int device) {
  using D = device_t<T>;
  using A = acc_t<D>;
  static_assert(std::is_same<A, row_dot_acc_t<T>>::value, "row_dot writes its accumulation type");
  if (rows == 0) return;
  cudaStream_t s = stream(device);
  constexpr int n = Pack<D>::n;
  // Packs stay 16-byte aligned when every row start is a whole number of packs from an aligned base.
  bool vec = inner % n == 0 && aligned16(g) && aligned16(a);
  for (int d = 0; d < g_rows.ndim; ++d) vec = vec && g_rows.strides[d] % n == 0 && a_rows.strides[d] % n == 0;
  int64_t chunk_len = inner, chunks = 1;
  if (rows < kTargetItems && inner > 2 * kMinChunk) {
    const int64_t want = std::min(ceil_div(kTargetItems, rows), ceil_div(inner, kMinChunk));
    chunk_len = ceil_div(ceil_div(inner, want), n) * n;  // whole packs: chunk starts stay aligned
    chunks = ceil_div(inner, chunk_len);
  }
  RowDotArgs<D> p{reinterpret_cast<const D*>(g), reinterpret_cast<const D*>(a), g_rows, a_rows, out, rows, inner,
                  chunks, chunk_len, fits_32bit(rows)};
  const int64_t units = vec ? chunk_len / n : chunk_len;
  if (chunks == 1) {
    vec ? launch<true>(p, units, s) : launch<false>(p, units, s);
    return;
  }
  Workspace<A> partial(rows * chunks, device);
  p.out = partial.get();
  vec ? launch<true>(p, units, s) : launch<false>(p, units, s);
  sum_rows<A>(partial.get(), out, rows, chunks, 1.0, device);
}

template void row_dot<float>(const float*, const StridedLayout&, const float*, const StridedLayout&, float*, int64_t,
                             int64_t, int);
template void row_dot<double>(const double*, const StridedLayout&, const double*, const StridedLayout&, double*,
                              int64_t, int64_t, int);
template void row_dot<bf16>(const bf16*, const StridedLayout&, const bf16*, const StridedLayout&, float*, int64_t,
                            int64_t, int);

}  // namespace loglin::cuda

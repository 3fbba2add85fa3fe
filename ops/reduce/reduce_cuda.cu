// Sum / mean / max kernels. Two shapes of work:
//  - row reductions (the reduced dims are the innermost, x is [rows, cols]):
//    a warp per row up to 1024 columns, else a block per row; a few very
//    long rows (a full reduction) are cut into chunks so every SM gets work,
//    and a second pass reduces the chunks' partials.
//  - middle reductions (x is [outer, R, inner], R reduced, inner kept):
//    32 x 8 thread tiles, x over the kept columns (coalesced reads), y over
//    R; R is cut into segments when there are too few columns to fill the
//    GPU, and a second pass adds the segments' partials.
// Both schemes fix the summation order by shape alone: deterministic.
// Also mean's backward, g times 1/n (a plain map; reduce calls no mul).
#include "core/cuda_launch.cuh"
#include "ops/reduce/reduce_cuda.h"
#include "ops/reduce/team_reduce.cuh"
#include "ops/reduce/workspace.cuh"

namespace loglin::cuda {
namespace {

__host__ __device__ __forceinline__ int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// ---- row reductions ----

// Row work items: (row, chunk) pairs. About this many items keep every SM
// busy; chunks are never shorter than kMinChunk, so a pass stays cheap.
constexpr int64_t kTargetItems = 1024;
constexpr int64_t kMinChunk = 4096;

struct RowPlan {
  int64_t chunks = 1, chunk_len = 0;
};

// chunks <= kTargetItems <= kWarpRowMax, so the second pass is one warp per row.
RowPlan plan_rows(int64_t rows, int64_t cols) {
  RowPlan p;
  p.chunk_len = cols;
  if (rows < kTargetItems && cols > 2 * kMinChunk) {
    const int64_t want = std::min(ceil_div(kTargetItems, rows), ceil_div(cols, kMinChunk));
    p.chunk_len = ceil_div(cols, want);
    p.chunks = ceil_div(cols, p.chunk_len);
  }
  return p;
}

// Item (r, k) reduces columns [k * chunk_len, (k + 1) * chunk_len) of row r
// with op over load(r, c), and hands the result to store(r, k, acc).
template <class Team, class A, class Op, class Load, class Store>
__global__ void reduce_rows_kernel(int64_t rows, int64_t cols, int64_t chunks, int64_t chunk_len, Op op, Load load,
                                   Store store) {
  const Team team{};
  const int64_t items = rows * chunks;
  for (int64_t it = team.id(); it < items; it += team.count()) {
    const int64_t r = it / chunks, k = it - r * chunks;
    const int64_t c0 = k * chunk_len, c1 = c0 + chunk_len < cols ? c0 + chunk_len : cols;
    A acc = op.identity();
    for (int64_t c = c0 + team.rank(); c < c1; c += team.size()) acc = op(acc, load(r, c));
    acc = team.allreduce(acc, op);
    if (team.rank() == 0) store(r, k, acc);
  }
}

template <class A, class Op, class Load, class Store>
void launch_rows(int64_t rows, int64_t cols, const RowPlan& p, Op op, Load load, Store store, cudaStream_t s,
                 const char* name) {
  const int64_t items = rows * p.chunks;
  if (p.chunk_len <= kWarpRowMax)
    reduce_rows_kernel<WarpTeam, A><<<warp_team_blocks(items), kWarpTeamThreads, 0, s>>>(rows, cols, p.chunks,
                                                                                         p.chunk_len, op, load, store);
  else
    reduce_rows_kernel<BlockTeam, A><<<block_team_blocks(items), kBlockTeamThreads, 0, s>>>(
        rows, cols, p.chunks, p.chunk_len, op, load, store);
  LOGLIN_CUDA_LAUNCHED(name);
}

template <class T> struct ValueLoad {
  const T* x;
  int64_t cols;
  __device__ __forceinline__ acc_t<T> operator()(int64_t r, int64_t c) const { return load_acc(x + r * cols + c); }
};

template <class T> struct ArgLoad {
  const T* x;
  int64_t cols;
  __device__ __forceinline__ ArgMaxVal<T> operator()(int64_t r, int64_t c) const { return {x[r * cols + c], c}; }
};

// Second pass: the partials of row r are p[r * cols, (r + 1) * cols).
template <class A> struct PartialLoad {
  const A* p;
  int64_t cols;
  __device__ __forceinline__ A operator()(int64_t r, int64_t c) const { return p[r * cols + c]; }
};

template <class A> struct PartialStore {
  A* p;
  int64_t chunks;
  __device__ __forceinline__ void operator()(int64_t r, int64_t k, A a) const { p[r * chunks + k] = a; }
};

template <class T, class A> struct ScaledStore {
  T* out;
  double scale;
  __device__ __forceinline__ void operator()(int64_t r, int64_t, A a) const {
    store_from(out + r, static_cast<A>(static_cast<double>(a) * scale));
  }
};

template <class T> struct ArgStore {
  T* out;
  int64_t* argmax;
  __device__ __forceinline__ void operator()(int64_t r, int64_t, ArgMaxVal<T> a) const {
    out[r] = a.v;
    argmax[r] = a.i;
  }
};

// ---- middle reductions ----

constexpr int kTileX = 32, kTileY = 8;
// Segments are cut until about this many tiles run (or segments reach kMinSegment rows).
constexpr int64_t kTargetTiles = 2048;
constexpr int64_t kMinSegment = 64;

// x is [outer, R, inner]; block (tile, seg) sums rows [seg * seg_len, ...) of
// R for 32 of the outer * inner kept columns and writes out[seg, column].
template <class I, class O>
__global__ void sum_middle_kernel(const I* x, O* out, int64_t outer, int64_t R, int64_t inner, int64_t seg_len,
                                  double scale) {
  using A = acc_t<I>;
  __shared__ A partial[kTileY][kTileX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t cols = outer * inner, tiles = ceil_div(cols, kTileX);
  const int64_t seg = blockIdx.y;
  const int64_t r0 = seg * seg_len, r1 = r0 + seg_len < R ? r0 + seg_len : R;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t c = tile * kTileX + tx;
    A acc = A(0);
    if (c < cols) {
      const int64_t o = c / inner, i = c - o * inner;
      const I* p = x + o * R * inner + i;
      for (int64_t r = r0 + ty; r < r1; r += kTileY) acc += load_acc(p + r * inner);
    }
    partial[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && c < cols) {
      A sum = partial[0][tx];
      for (int k = 1; k < kTileY; ++k) sum += partial[k][tx];
      store_from(out + seg * cols + c, static_cast<A>(static_cast<double>(sum) * scale));
    }
    __syncthreads();
  }
}

// ---- mean backward ----

template <class T>
__global__ void scale_kernel(const T* x, T* out, int64_t n, T s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = x[i] * s;
}

// ---- max backward ----

template <class T>
__global__ void max_rows_backward_kernel(const T* g, const int64_t* argmax, T* dx, int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x)
    dx[r * cols + argmax[r]] = g[r];
}

}  // namespace

template <class T>
void sum_rows(const T* x, T* out, int64_t rows, int64_t cols, double scale, int device) {
  using A = acc_t<T>;
  if (rows == 0) return;
  cudaStream_t s = stream(device);
  const RowPlan p = plan_rows(rows, cols);
  if (p.chunks == 1) {
    launch_rows<A>(rows, cols, p, SumOp<A>{}, ValueLoad<T>{x, cols}, ScaledStore<T, A>{out, scale}, s, "sum");
    return;
  }
  Workspace<A> partial(rows * p.chunks, device);
  launch_rows<A>(rows, cols, p, SumOp<A>{}, ValueLoad<T>{x, cols}, PartialStore<A>{partial.get(), p.chunks}, s, "sum");
  launch_rows<A>(rows, p.chunks, plan_rows(rows, p.chunks), SumOp<A>{}, PartialLoad<A>{partial.get(), p.chunks},
                 ScaledStore<T, A>{out, scale}, s, "sum");
}

template <class T>
void sum_middle(const T* x, T* out, int64_t outer, int64_t R, int64_t inner, double scale, int device) {
  using A = acc_t<T>;
  const int64_t cols = outer * inner;
  if (cols == 0) return;
  cudaStream_t s = stream(device);
  const int64_t tiles = ceil_div(cols, kTileX);
  const unsigned grid_x = static_cast<unsigned>(std::min<int64_t>(tiles, int64_t{1} << 20));
  const dim3 block(kTileX, kTileY);
  int64_t segments = 1;
  if (tiles < kTargetTiles && R >= 2 * kMinSegment)
    segments = std::min({ceil_div(kTargetTiles, tiles), ceil_div(R, kMinSegment), int64_t{65535}});
  if (segments == 1) {
    sum_middle_kernel<T, T><<<dim3(grid_x, 1), block, 0, s>>>(x, out, outer, R, inner, R, scale);
    LOGLIN_CUDA_LAUNCHED("sum");
    return;
  }
  const int64_t seg_len = ceil_div(R, segments);
  segments = ceil_div(R, seg_len);
  // Pass 1 writes partial[seg, column]; pass 2 is the same kernel reducing
  // that [segments, cols] array over its leading dim.
  Workspace<A> partial(segments * cols, device);
  sum_middle_kernel<T, A><<<dim3(grid_x, static_cast<unsigned>(segments)), block, 0, s>>>(x, partial.get(), outer, R,
                                                                                          inner, seg_len, 1.0);
  LOGLIN_CUDA_LAUNCHED("sum");
  sum_middle_kernel<A, T><<<dim3(grid_x, 1), block, 0, s>>>(partial.get(), out, 1, segments, cols, segments, scale);
  LOGLIN_CUDA_LAUNCHED("sum");
}

template <class T>
void scale(const T* x, T* out, int64_t n, double s, int device) {
  if (n == 0) return;
  scale_kernel<T><<<blocks_for(n), kThreads, 0, stream(device)>>>(x, out, n, static_cast<T>(s));
  LOGLIN_CUDA_LAUNCHED("mean");
}

template <class T>
void max_rows(const T* x, T* out, int64_t* argmax, int64_t rows, int64_t cols, int device) {
  if (rows == 0) return;
  cudaStream_t s = stream(device);
  const RowPlan p = plan_rows(rows, cols);
  using V = ArgMaxVal<T>;
  if (p.chunks == 1) {
    launch_rows<V>(rows, cols, p, ArgMaxOp<T>{}, ArgLoad<T>{x, cols}, ArgStore<T>{out, argmax}, s, "max");
    return;
  }
  Workspace<V> partial(rows * p.chunks, device);
  launch_rows<V>(rows, cols, p, ArgMaxOp<T>{}, ArgLoad<T>{x, cols}, PartialStore<V>{partial.get(), p.chunks}, s,
                 "max");
  launch_rows<V>(rows, p.chunks, plan_rows(rows, p.chunks), ArgMaxOp<T>{}, PartialLoad<V>{partial.get(), p.chunks},
                 ArgStore<T>{out, argmax}, s, "max");
}

template <class T>
void max_rows_backward(const T* g, const int64_t* argmax, T* dx, int64_t rows, int64_t cols, int device) {
  if (rows == 0) return;
  max_rows_backward_kernel<T><<<blocks_for(rows), kThreads, 0, stream(device)>>>(g, argmax, dx, rows, cols);
  LOGLIN_CUDA_LAUNCHED("max");
}

#define LOGLIN_REDUCE_INSTANTIATE(T)                                                              \
  template void sum_rows<T>(const T*, T*, int64_t, int64_t, double, int);                         \
  template void sum_middle<T>(const T*, T*, int64_t, int64_t, int64_t, double, int);              \
  template void scale<T>(const T*, T*, int64_t, double, int);                                     \
  template void max_rows<T>(const T*, T*, int64_t*, int64_t, int64_t, int);                       \
  template void max_rows_backward<T>(const T*, const int64_t*, T*, int64_t, int64_t, int);
LOGLIN_REDUCE_INSTANTIATE(float)
LOGLIN_REDUCE_INSTANTIATE(double)
#undef LOGLIN_REDUCE_INSTANTIATE

}  // namespace loglin::cuda

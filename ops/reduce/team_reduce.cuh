// Reductions done by a "team" of threads that owns one row: a warp (short
// rows, several rows per block) or a whole block (long rows). Kernels are
// written once against the Team interface and launched with either:
//   for (row = team.id(); row < rows; row += team.count())
//     for (c = team.rank(); c < C; c += team.size()) ...
//     acc = team.allreduce(acc, op);   // every thread of the team gets it
// The row loop is uniform across a team, so the block barriers inside
// BlockTeam::allreduce are reached by every thread of the block.
//
// Reductions run in a fixed tree order (xor butterflies), so results are
// deterministic run to run, and every thread of a team gets bitwise the same
// value as long as `op` is commutative (sum, fmax and ArgMaxOp are).
// Shared by ops/reduce, ops/softmax and ops/cross_entropy.
#pragma once
#include <limits>

#include "core/cuda_launch.cuh"

namespace loglin::cuda {

template <class A> struct SumOp {
  __device__ __forceinline__ A identity() const { return A(0); }
  __device__ __forceinline__ A operator()(A a, A b) const { return a + b; }
};

// fmax, not a > b ? a : b: it is commutative even with a NaN operand.
template <class A> struct MaxOp {
  __device__ __forceinline__ A identity() const { return -std::numeric_limits<A>::infinity(); }
  __device__ __forceinline__ A operator()(A a, A b) const { return fmax(a, b); }
};

// A candidate maximum and its column; i < 0 marks "no element yet".
template <class T> struct ArgMaxVal {
  T v;
  int64_t i;
};

// The CPU loop's winner: the first NaN if there is one, else the first of the
// largest values. As a total order (NaN first, then larger value, then lower
// index) it is associative and commutative, so any tree gives that winner.
template <class T> struct ArgMaxOp {
  __device__ __forceinline__ ArgMaxVal<T> identity() const { return {T(0), -1}; }
  __device__ __forceinline__ ArgMaxVal<T> operator()(ArgMaxVal<T> a, ArgMaxVal<T> b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool an = isnan(a.v), bn = isnan(b.v);
    if (an != bn) return an ? a : b;
    if (!an && a.v != b.v) return a.v > b.v ? a : b;
    return a.i < b.i ? a : b;
  }
};

template <class A> __device__ __forceinline__ A shfl_xor(A v, int mask) {
  return __shfl_xor_sync(0xffffffffu, v, mask);
}
template <class T> __device__ __forceinline__ ArgMaxVal<T> shfl_xor(ArgMaxVal<T> v, int mask) {
  return {shfl_xor(v.v, mask), shfl_xor(v.i, mask)};
}

// Every lane of the warp gets op over the 32 lanes' values.
template <class A, class Op> __device__ __forceinline__ A warp_allreduce(A a, Op op) {
  for (int mask = 16; mask > 0; mask >>= 1) a = op(a, shfl_xor(a, mask));
  return a;
}

// blockDim.x must be a multiple of 32 (every launcher here uses 256 or 512).
struct WarpTeam {
  __device__ __forceinline__ int rank() const { return threadIdx.x & 31; }
  __device__ __forceinline__ int size() const { return 32; }
  __device__ __forceinline__ int64_t id() const { return (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5; }
  __device__ __forceinline__ int64_t count() const { return (int64_t(gridDim.x) * blockDim.x) >> 5; }
  template <class A, class Op> __device__ __forceinline__ A allreduce(A a, Op op) const {
    return warp_allreduce(a, op);
  }
};

struct BlockTeam {
  __device__ __forceinline__ int rank() const { return threadIdx.x; }
  __device__ __forceinline__ int size() const { return blockDim.x; }
  __device__ __forceinline__ int64_t id() const { return blockIdx.x; }
  __device__ __forceinline__ int64_t count() const { return gridDim.x; }
  // Warps reduce, lane 0s publish, then every warp reduces the published
  // values itself (same order, same result) so no broadcast step is needed.
  // The closing barrier lets the next call reuse `partial`.
  template <class A, class Op> __device__ __forceinline__ A allreduce(A a, Op op) const {
    __shared__ A partial[32];
    a = warp_allreduce(a, op);
    const int lane = threadIdx.x & 31;
    const int n_warps = static_cast<int>(blockDim.x >> 5);
    if (lane == 0) partial[threadIdx.x >> 5] = a;
    __syncthreads();
    A r = lane < n_warps ? partial[lane] : op.identity();
    r = warp_allreduce(r, op);
    __syncthreads();
    return r;
  }
};

// Threads per block when one warp owns a row, and when a block does.
constexpr int kWarpTeamThreads = 256;
constexpr int kBlockTeamThreads = 512;
// Rows up to this long go to a warp; longer rows to a block.
constexpr int64_t kWarpRowMax = 1024;

// Grid for `rows` rows handled by warps (8 per block) or by blocks.
inline unsigned warp_team_blocks(int64_t rows) { return blocks_for(rows * 32, kWarpTeamThreads); }
inline unsigned block_team_blocks(int64_t rows) {
  return static_cast<unsigned>(std::clamp<int64_t>(rows, 1, int64_t{1} << 20));
}

// exp and log in the accumulation type (expf/logf for float).
__device__ __forceinline__ float dev_exp(float x) { return expf(x); }
__device__ __forceinline__ double dev_exp(double x) { return exp(x); }
__device__ __forceinline__ float dev_log(float x) { return logf(x); }
__device__ __forceinline__ double dev_log(double x) { return log(x); }

}  // namespace loglin::cuda

// Device helpers shared by v2's forward and backward kernels
// (v2_forward_cuda.cu, v2_backward_cuda.cu): the chunk slot convention,
// 16-byte tile loads (v2_mma.cuh has the tensor-core fragments). Included once per .cu file (an
// anonymous namespace, as chunk_cuda.cuh).
#pragma once
#include "ops/log_linear_attention/cuda/chunk_cuda.cuh"
#include "ops/log_linear_attention/cuda_v2/v2_mma_tf32.cuh"

namespace loglin::lla::v2 {
namespace {

using bf = __nv_bfloat16;
using bf2 = __nv_bfloat162;

constexpr const char* kOp = "log_linear_attention (v2)";
constexpr int kC = 64;         // chunk
constexpr int kWarps = 4;      // warps per block of F1 / F3
constexpr int kBlock = 32 * kWarps;
constexpr int kPad = 8;        // pitch pad in elements: 16 bytes of bf16; 32 of f32 (pitch = 8 mod 32 words: TF32 pair loads hit distinct banks)
constexpr int kFPad = 4;       // f32 pitch pad (multiple of 4 elements)
constexpr int kTreeThreads = 256;
constexpr int kTreeVec = 2;     // elements per thread of the element-wise tree walks (one bf16 pair)
constexpr int kMaxLevels = 16;  // tree levels the walks keep in registers: chunk index < 2^16, positions < 2^22

// Blocks per SM the tree walks ask registers for: their stacks take ML
// levels of registers; the walks are latency-bound, so shallow ones trade
// registers for more blocks in flight.
constexpr int tree_blocks_per_sm(int ML) { return ML <= 8 ? 3 : 2; }

constexpr size_t align128(size_t bytes) { return (bytes + 127) / 128 * 128; }

// The kernels are templates on their element type E: bf (bf16 inputs, bf16
// tensor cores) or float (f32 inputs, TF32 tensor cores, v2_mma_tf32.cuh).
// Host<E>::T is the matching element type of the host-side tables.
template <class E>
struct Host;
template <>
struct Host<bf> {
  using T = bf16;
};
template <>
struct Host<float> {
  using T = float;
};
template <class E>
using Fwd = GpuForward<typename Host<E>::T, float>;


// kTreeVec consecutive elements in f32 registers (one 4-byte bf16 pair).
struct Vec {
  float x[kTreeVec];
};
__device__ __forceinline__ Vec zero_vec() { return Vec{{0.0f, 0.0f}}; }
__device__ __forceinline__ Vec load_vec(const bf* src) {
  const float2 a = __bfloat1622float2(*reinterpret_cast<const bf2*>(src));
  return Vec{{a.x, a.y}};
}
__device__ __forceinline__ Vec load_vec(const float* src) {
  const float2 a = *reinterpret_cast<const float2*>(src);
  return Vec{{a.x, a.y}};
}
__device__ __forceinline__ void store_vec(bf* dst, const Vec& v) {
  *reinterpret_cast<bf2*>(dst) = __floats2bfloat162_rn(v.x[0], v.x[1]);
}
__device__ __forceinline__ void store_vec(float* dst, const Vec& v) {
  *reinterpret_cast<float2*>(dst) = make_float2(v.x[0], v.x[1]);
}
// y = d x + y
__device__ __forceinline__ void axpy_vec(float d, const Vec& x, Vec& y) {
#pragma unroll
  for (int z = 0; z < kTreeVec; ++z) y.x[z] = fmaf(d, x.x[z], y.x[z]);
}
__device__ __forceinline__ void add_vec(const Vec& x, Vec& y) {
#pragma unroll
  for (int z = 0; z < kTreeVec; ++z) y.x[z] += x.x[z];
}

// Four consecutive elements (the push-down walk, whose per-step scalar work
// is amortised over more elements).
struct Vec4 {
  float x[4];
};
__device__ __forceinline__ Vec4 zero_vec4() { return Vec4{{0.0f, 0.0f, 0.0f, 0.0f}}; }
__device__ __forceinline__ Vec4 load_vec4(const float* src) {
  const float4 u = *reinterpret_cast<const float4*>(src);
  return Vec4{{u.x, u.y, u.z, u.w}};
}
__device__ __forceinline__ void store_vec4(bf* dst, const Vec4& v) {
  uint2 u;
  *reinterpret_cast<bf2*>(&u.x) = __floats2bfloat162_rn(v.x[0], v.x[1]);
  *reinterpret_cast<bf2*>(&u.y) = __floats2bfloat162_rn(v.x[2], v.x[3]);
  *reinterpret_cast<uint2*>(dst) = u;
}
__device__ __forceinline__ void store_vec4(float* dst, const Vec4& v) {
  *reinterpret_cast<float4*>(dst) = make_float4(v.x[0], v.x[1], v.x[2], v.x[3]);
}
__device__ __forceinline__ Vec4 load_vec4(const bf* src) {
  const uint2 u = *reinterpret_cast<const uint2*>(src);
  const float2 a = __bfloat1622float2(*reinterpret_cast<const bf2*>(&u.x));
  const float2 b = __bfloat1622float2(*reinterpret_cast<const bf2*>(&u.y));
  return Vec4{{a.x, a.y, b.x, b.y}};
}
__device__ __forceinline__ void axpy_vec4(float d, const Vec4& x, Vec4& y) {
#pragma unroll
  for (int z = 0; z < 4; ++z) y.x[z] = fmaf(d, x.x[z], y.x[z]);
}
__device__ __forceinline__ void add_vec4(const Vec4& x, Vec4& y) {
#pragma unroll
  for (int z = 0; z < 4; ++z) y.x[z] += x.x[z];
}

// The walks written once for either width and node type (F2 picks by its register budget).
template <class E>
__device__ __forceinline__ void load_into(Vec& v, const E* src) { v = load_vec(src); }
template <class E>
__device__ __forceinline__ void load_into(Vec4& v, const E* src) { v = load_vec4(src); }
template <class E>
__device__ __forceinline__ void store_into(E* dst, const Vec& v) { store_vec(dst, v); }
template <class E>
__device__ __forceinline__ void store_into(E* dst, const Vec4& v) { store_vec4(dst, v); }
__device__ __forceinline__ void axpy(float d, const Vec& x, Vec& y) { axpy_vec(d, x, y); }
__device__ __forceinline__ void axpy(float d, const Vec4& x, Vec4& y) { axpy_vec4(d, x, y); }

// First table row of each tree level of one sequence, in shared memory for
// a block of one (sequence, head); every thread calls it, then a barrier.
__device__ __forceinline__ void level_offsets(const GpuSeq& s, int64_t* loff) {
  const int j = threadIdx.x;
  if (j < kMaxLevels) {
    int64_t off = s.node_off;
    for (int i = 0; i < j; ++i) off += (s.n1 >> i) - (s.n0 >> i);
    loff[j] = off;
  }
  __syncthreads();
}

// 16 bytes global -> shared without a trip through registers (sm_80+), so
// that all of a thread's copies of a tile are in flight at once: a plain
// load-then-store loop pays one memory latency per 16 bytes, because the
// compiler cannot move a global load above a shared store it may alias.
__device__ __forceinline__ void cp_async16(void* smem_dst, const void* gmem_src) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem_src) : "memory");
}
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
// N = 4 or 8 bytes global -> shared (.ca: the only form below 16 bytes), for
// the per-thread prefetch rings of the tree walks.
template <int N>
__device__ __forceinline__ void cp_async_small(void* smem_dst, const void* gmem_src) {
  static_assert(N == 4 || N == 8 || N == 16, "cp.async.ca copies 4, 8 or 16 bytes");
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem_dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], %2;\n" ::"r"(dst), "l"(gmem_src), "n"(N) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait_group() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// rows r = 0 .. nrows - 1 of W elements (bf16 or f32) each into dst (pitch
// ld elements) by 16-byte asynchronous copies; src(r) is the row's first
// element (16-byte aligned) or null for a row of zeros. Every thread of the block takes part.
// The copies stay in flight (a prefetch) until the thread's
// cp_async_wait_all(); the caller's __syncthreads() after it publishes them.
template <int W, class E, class Src>
__device__ __forceinline__ void issue_tile(E* dst, int ld, int nrows, Src src) {
  constexpr int P = 16 / static_cast<int>(sizeof(E));  // elements per 16-byte unit
  static_assert(W % P == 0, "rows of whole 16-byte units");
  constexpr int U = W / P;
  for (int e = threadIdx.x; e < nrows * U; e += blockDim.x) {
    const int r = e / U, u = e % U;
    const E* s = src(r);
    if (s) cp_async16(dst + r * ld + u * P, s + u * P);
    else *reinterpret_cast<uint4*>(dst + r * ld + u * P) = make_uint4(0u, 0u, 0u, 0u);
  }
}
// issue_tile and wait for this thread's copies.
template <int W, class E, class Src>
__device__ __forceinline__ void load_tile(E* dst, int ld, int nrows, Src src) {
  issue_tile<W>(dst, ld, nrows, src);
  cp_async_wait_all();
}

// Where a chunk job's rows are: slot r (0..63) is sequence row base + r,
// valid for lo <= r < hi.
struct ChunkSlots {
  int64_t base;
  int lo, hi;
  __device__ bool ok(int r) const { return r >= lo && r < hi; }
};
__device__ __forceinline__ ChunkSlots chunk_slots(const GpuSeq& s, int64_t n) {
  const int64_t r0 = gpu::first_row(s, n, kC), r1 = gpu::end_row(s, n, kC);
  ChunkSlots c;
  c.base = n * kC - s.pos;
  c.lo = static_cast<int>(r0 - c.base);
  c.hi = static_cast<int>(r1 - c.base);
  return c;
}

// How the 4 warps of a block split a K x V product (K rows, V columns) into
// 16 x 16 tiles, by panels of PW <= 64 columns: each warp owns WM row tiles
// and WN column tiles of a panel (all column tiles when K >= 64, else half).
template <int K, int V>
struct WarpTiles {
  static constexpr int PW = V < 64 ? V : 64;  // V panel width
  static constexpr int NP = V / PW;           // panels
  static constexpr int MT = K / 16, NT = PW / 16;
  static constexpr int WM = MT >= 4 ? MT / 4 : 1;   // row tiles per warp
  static constexpr int WN = MT >= 4 ? NT : NT / 2;  // column tiles per warp
  static_assert(WM * WN * kWarps == MT * NT, "whole tiles per warp");
  __device__ static int m_tile(int warp, int i) { return MT >= 4 ? warp + kWarps * i : (warp & 1); }
  __device__ static int n_tile(int warp, int jn) { return MT >= 4 ? jn : (warp >> 1) * WN + jn; }
};

// The lowest set bit of mask above bit j (-1 when none): the next node a
// chunk reads, from the bit set of its reads.
__device__ __forceinline__ int next_bit(uint64_t mask, int j) {
  return __ffsll(static_cast<long long>(mask & ~((2ull << j) - 1))) - 1;
}

// G (double and f32 relative to the chunk's first valid row) and lambda of
// levels 0..7 of one head for a chunk's slots, in shared memory.
struct HeadScalars {
  double* Gd;   // [64]
  float* G;     // [64]
  float* lam;   // [64][8]
};
// Their bytes, and the view of them at `at`.
constexpr size_t kHeadScalarBytes =
    align128(sizeof(double) * kC) + align128(sizeof(float) * kC) + align128(sizeof(float) * kC * 8);
__device__ __forceinline__ HeadScalars head_scalars_at(unsigned char* at) {
  return HeadScalars{reinterpret_cast<double*>(at), reinterpret_cast<float*>(at + align128(sizeof(double) * kC)),
                     reinterpret_cast<float*>(at + align128(sizeof(double) * kC) + align128(sizeof(float) * kC))};
}
// Head h's scalars from G per row (Gd_all, [rows][H]) and the level scales
// (ls_all, [rows][H][L]); threads 0..63 of the block store them, the
// caller's barrier publishes them.
template <class E>
__device__ __forceinline__ void load_head_scalars(const GpuProblem& p, const GpuSeq& s, const ChunkSlots& cs,
                                                  const double* Gd_all, const E* ls_all, int64_t h, HeadScalars hs) {
  const int r = threadIdx.x;
  if (r >= kC) return;
  const double* Gd = Gd_all + s.row0 * p.H + h;
  const E* ls = ls_all + s.row0 * p.H * p.L + h * p.L;
  const bool ok = cs.ok(r);
  const double gd = ok ? Gd[(cs.base + r) * p.H] : 0.0;
  hs.Gd[r] = gd;
  hs.G[r] = ok ? static_cast<float>(gd - Gd[(cs.base + cs.lo) * p.H]) : 0.0f;
#pragma unroll
  for (int l = 0; l < 8; ++l)
    hs.lam[r * 8 + l] = ok && l < p.L ? to_f(ls[(cs.base + r) * p.H * p.L + l]) : 0.0f;
}

// ---- per-sequence scans (G from g, dg from dG) ----

constexpr int kScanThreads = 512;
constexpr int kScanItems = 8;  // consecutive elements per thread: a tile is 4096 elements

// Inclusive scan in double of load(i), i = 0 .. n - 1 (reverse: from n - 1
// down), store(i, prefix); one block of kScanThreads per sequence and head.
// Each thread scans kScanItems consecutive elements in registers and the
// block scans the thread totals, so a tile costs two barriers rather than
// one per 256 elements (v1's block_scan).
template <class Load, class Store>
__device__ void wide_scan(int64_t n, bool reverse, Load load, Store store) {
  __shared__ double warp_tot[kScanThreads / 32];
  __shared__ double carry_s;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  double carry = 0.0;
  for (int64_t base = 0; base < n; base += int64_t(kScanThreads) * kScanItems) {
    const int64_t k0 = base + int64_t(threadIdx.x) * kScanItems;
    double x[kScanItems];
    double run = 0.0;
#pragma unroll
    for (int z = 0; z < kScanItems; ++z) {
      const int64_t k = k0 + z;
      run += k < n ? load(reverse ? n - 1 - k : k) : 0.0;
      x[z] = run;
    }
    double tot = run;  // inclusive scan of thread totals over the block
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      const double y = __shfl_up_sync(0xffffffffu, tot, o);
      if (lane >= o) tot += y;
    }
    if (lane == 31) warp_tot[warp] = tot;
    __syncthreads();
    if (warp == 0) {
      double w = lane < kScanThreads / 32 ? warp_tot[lane] : 0.0;
#pragma unroll
      for (int o = 1; o < 32; o <<= 1) {
        const double y = __shfl_up_sync(0xffffffffu, w, o);
        if (lane >= o) w += y;
      }
      if (lane < kScanThreads / 32) warp_tot[lane] = w;
      if (lane == kScanThreads / 32 - 1) carry_s = w;  // the tile's total
    }
    __syncthreads();
    const double before = carry + (warp > 0 ? warp_tot[warp - 1] : 0.0) + (tot - run);
#pragma unroll
    for (int z = 0; z < kScanItems; ++z) {
      const int64_t k = k0 + z;
      if (k < n) store(reverse ? n - 1 - k : k, before + x[z]);
    }
    carry += carry_s;
    __syncthreads();  // warp_tot and carry_s are rewritten by the next tile
  }
}

// G per row in double: grid (n_seqs, H), kScanThreads.
__global__ void __launch_bounds__(kScanThreads) cumdecay_wide_kernel(GpuProblem p, const float* g, double* Gd) {
  const GpuSeq s = p.seqs[blockIdx.x];
  const int64_t h = blockIdx.y;
  wide_scan(
      s.len, false, [&](int64_t i) { return static_cast<double>(g[(s.row0 + i) * p.H + h]); },
      [&](int64_t i, double x) { Gd[(s.row0 + i) * p.H + h] = x; });
}

template <class Kern>
void allow_smem(Kern kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
                      kOp);
}

}  // namespace
}  // namespace loglin::lla::v2

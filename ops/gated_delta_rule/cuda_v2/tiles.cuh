// Device helpers of v2 (gated_delta_rule_v2.cu and gated_delta_rule_v2_backward.cu):
// chunk geometry, TF32 tensor-core tiles through WMMA, and the part of a
// chunk's WY form that the prep kernel and the backward both build.
#pragma once
#include <mma.h>

#include <type_traits>

#include "core/cuda_launch.cuh"
#include "ops/gated_delta_rule/cuda_v2/gated_delta_rule_v2.h"

namespace loglin::gdr::v2::dev {

using namespace nvcuda;

constexpr int kC = static_cast<int>(kChunk);
constexpr int kVp = static_cast<int>(kPanel);
constexpr int kLd = kC + 4;  // shared row stride of a 64-wide tile: padded against bank conflicts
constexpr int kTile = kC * kLd;
constexpr int kLocalThreads = 256;  // the prep and the chunk backward: 8 warps, 2 of the 16 16x16 tiles each

// ---- positions and chunks ----

__device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

__device__ __forceinline__ int level_of(int64_t t, int64_t s) { return t == s ? 0 : 64 - __clzll(t ^ s); }

__device__ __forceinline__ int64_t chunks_of(const GpuSeq& s) {
  return s.len == 0 ? 0 : (s.len + s.pos % kC + kC - 1) / kC;
}

// Rows [r0, r1) of chunk i of sequence s (chunks aligned to absolute
// multiples of C; the first and the last may be partial).
__device__ __forceinline__ void chunk_rows(const GpuSeq& s, int64_t i, int64_t& r0, int64_t& r1) {
  const int64_t off = s.pos % kC;
  r0 = i == 0 ? 0 : i * kC - off;
  r1 = imin(s.len, (i + 1) * kC - off);
}

struct ChunkAt {
  int64_t seq = 0, r0 = 0, nr = 0;
  int64_t t0 = 0;     // absolute position of its first row
  int64_t grow0 = 0;  // its first row in the flattened (B*T) rows
  bool last = false;  // the last chunk of its sequence
};

// Chunk cid of the call (the table from gdr_chunk_table_v2_kernel); false
// past the last chunk.
__device__ __forceinline__ bool locate_chunk(const GpuProblem& p, const int64_t* begin, int64_t cid, ChunkAt& c) {
  if (cid >= begin[p.n_seqs]) return false;
  int64_t lo = 0, hi = p.n_seqs;  // begin[lo] <= cid < begin[hi]
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (begin[mid] <= cid) lo = mid;
    else hi = mid;
  }
  const GpuSeq s = p.seqs[lo];
  int64_t r1;
  chunk_rows(s, cid - begin[lo], c.r0, r1);
  c.seq = lo;
  c.nr = r1 - c.r0;
  c.t0 = s.pos + c.r0;
  c.grow0 = s.row0 + c.r0;
  c.last = cid + 1 == begin[lo + 1];
  return true;
}

// ---- tensor-core tiles ----

template <class Layout>
using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, Layout>;
template <class Layout>
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, Layout>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;
using Row = wmma::row_major;
using Col = wmma::col_major;

template <class F>
__device__ __forceinline__ void round_tf32(F& f, float sign = 1.f) {
#pragma unroll
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = wmma::__float_to_tf32(sign * f.x[i]);
}

// acc += A B for a 16 x kd block of A and a kd x 16 block of B (kd a
// multiple of 8), each row- or column-major at its pointer with its leading
// dimension, in shared or global memory. sign_a = -1 takes -A.
template <class LA, class LB>
__device__ __forceinline__ void mma_acc(FragC& acc, const float* a, int64_t lda, const float* b, int64_t ldb,
                                        int kd, float sign_a = 1.f) {
  FragA<LA> fa;
  FragB<LB> fb;
  for (int s = 0; s < kd; s += 8) {
    const float* pa = std::is_same_v<LA, Row> ? a + s : a + s * lda;
    const float* pb = std::is_same_v<LB, Row> ? b + s * ldb : b + s;
    wmma::load_matrix_sync(fa, pa, static_cast<unsigned>(lda));
    wmma::load_matrix_sync(fb, pb, static_cast<unsigned>(ldb));
    round_tf32(fa, sign_a);
    round_tf32(fb);
    wmma::mma_sync(acc, fa, fb, acc);
  }
}

// The 16 x 16 tile (ti, tj) of a 64 x 64 product into shared dst (ld kLd):
// dst = A B, or dst += A B with accumulate (A: 16 rows at a, B: 16 columns
// at b, depth kd).
template <class LA, class LB>
__device__ __forceinline__ void tile_product(float* dst, bool accumulate, const float* a, int64_t lda, const float* b,
                                             int64_t ldb, int kd, float sign_a = 1.f) {
  FragC acc;
  if (accumulate) wmma::load_matrix_sync(acc, dst, kLd, wmma::mem_row_major);
  else wmma::fill_fragment(acc, 0.f);
  mma_acc<LA, LB>(acc, a, lda, b, ldb, kd, sign_a);
  wmma::store_matrix_sync(dst, acc, kLd, wmma::mem_row_major);
}

// Calls f(ti, tj) for the two 16 x 16 tiles of a 64 x 64 result that this
// warp owns (kLocalThreads: 8 warps; tiles warp and warp + 8, row-major).
template <class F>
__device__ __forceinline__ void for_my_tiles(F&& f) {
  const int warp = threadIdx.x / 32;
  for (int j = 0; j < 2; ++j) {
    const int t = warp + 8 * j;
    f(t / 4, t % 4);
  }
}

// Rows [0, nr) and columns [c0, c0 + 64) of a row-major array (row stride
// `stride`, `width` columns) into a shared 64 x 64 tile; zero elsewhere.
__device__ __forceinline__ void load_panel(float* dst, const float* src, int64_t stride, int64_t nr, int64_t c0,
                                           int64_t width) {
  for (int e = threadIdx.x; e < kC * kC; e += blockDim.x) {
    const int r = e / kC, c = e % kC;
    dst[r * kLd + c] = r < nr && c0 + c < width ? src[r * stride + c0 + c] : 0.f;
  }
}

// ---- the chunk-local WY pieces ----

// Per-row vectors of one chunk, in shared memory: gamma (the cumulative g
// from the chunk's first row), beta, exp(gamma), exp(gamma_last - gamma).
// Rows past the chunk's end have beta = 0 and gamma = gamma_last.
struct ChunkVecs {
  float *gam, *bet, *eg, *el;
};

// With kLocalThreads threads: the vectors; K K^T into sKK and Q K^T into sQK
// (over 64-column panels of K through the scratch tiles sK, sQ); then
// M = strictly_lower(diag(beta)(Gamma o K K^T)) into sM and
// Aqk = lower(Gamma o Q K^T) into sAqk (either may alias its raw product:
// the update is elementwise), and Tm = (I + M)^{-1} into sTm.
__device__ __forceinline__ void chunk_local(const GpuProblem& p, const GpuForward<float>& f, const ChunkAt& c,
                                            int64_t h, const ChunkVecs& v, float* sK, float* sQ, float* sKK,
                                            float* sQK, float* sM, float* sAqk, float* sTm) {
  const int tid = threadIdx.x, warp = tid / 32;
  const int64_t grp = h / (p.H / p.G), sqk = p.G * p.K;
  const float* qh = f.q + c.grow0 * sqk + grp * p.K;
  const float* kh = f.k + c.grow0 * sqk + grp * p.K;
  if (tid < kC) {
    v.bet[tid] = tid < c.nr ? f.beta[(c.grow0 + tid) * p.H + h] : 0.f;
    v.el[tid] = tid < c.nr ? f.g[(c.grow0 + tid) * p.H + h] : 0.f;  // g, until the scan below
  }
  __syncthreads();
  if (tid == 0) {
    double acc = 0;  // in double, rounded once per row; rows past the end add nothing
    for (int r = 0; r < kC; ++r) v.gam[r] = static_cast<float>(acc += static_cast<double>(v.el[r]));
  }
  __syncthreads();
  if (tid < kC) {
    v.eg[tid] = expf(v.gam[tid]);
    v.el[tid] = expf(v.gam[kC - 1] - v.gam[tid]);
  }

  FragC kk[2], qk[2];
  for (int j = 0; j < 2; ++j) wmma::fill_fragment(kk[j], 0.f), wmma::fill_fragment(qk[j], 0.f);
  for (int64_t k0 = 0; k0 < p.K; k0 += kC) {
    __syncthreads();
    load_panel(sK, kh, sqk, c.nr, k0, p.K);
    load_panel(sQ, qh, sqk, c.nr, k0, p.K);
    __syncthreads();
    const int kd = static_cast<int>(imin(kC, p.K - k0));
    for (int j = 0; j < 2; ++j) {
      const int t = warp + 8 * j, ti = t / 4, tj = t % 4;
      mma_acc<Row, Col>(kk[j], sK + ti * 16 * kLd, kLd, sK + tj * 16 * kLd, kLd, kd);
      mma_acc<Row, Col>(qk[j], sQ + ti * 16 * kLd, kLd, sK + tj * 16 * kLd, kLd, kd);
    }
  }
  for (int j = 0; j < 2; ++j) {
    const int t = warp + 8 * j, ti = t / 4, tj = t % 4;
    wmma::store_matrix_sync(sKK + ti * 16 * kLd + tj * 16, kk[j], kLd, wmma::mem_row_major);
    wmma::store_matrix_sync(sQK + ti * 16 * kLd + tj * 16, qk[j], kLd, wmma::mem_row_major);
  }
  __syncthreads();

  for (int e = tid; e < kC * kC; e += blockDim.x) {
    const int r = e / kC, j = e % kC;
    const float gm = j <= r ? expf(v.gam[r] - v.gam[j]) : 0.f;
    const float kkv = sKK[r * kLd + j], qkv = sQK[r * kLd + j];
    sM[r * kLd + j] = j < r ? v.bet[r] * gm * kkv : 0.f;
    sAqk[r * kLd + j] = gm * qkv;
    sTm[r * kLd + j] = r == j ? 1.f : 0.f;
  }
  __syncthreads();

  // Tm[r, c] = -sum_{c <= j < r} M[r, j] Tm[j, c], one row at a time; four
  // neighbouring lanes share column c and split the sum.
  const int col = tid / 4, part = tid % 4;
  for (int r = 1; r < kC; ++r) {
    float s = 0.f;
    if (col < r)
      for (int j = col + part; j < r; j += 4) s += sM[r * kLd + j] * sTm[j * kLd + col];
    s += __shfl_xor_sync(0xffffffffu, s, 1);
    s += __shfl_xor_sync(0xffffffffu, s, 2);
    if (part == 0 && col < r) sTm[r * kLd + col] = -s;
    __syncthreads();
  }
}

}  // namespace loglin::gdr::v2::dev

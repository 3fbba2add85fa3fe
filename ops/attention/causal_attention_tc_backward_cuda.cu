// Tensor-core causal attention backward (bf16 storage, WMMA 16x16x16 with f32
// accumulation) for head dims 64 and 128: the counterpart of the forward in
// causal_attention_tc_cuda.cu, flash-attention-2 style. P and dS are
// recomputed tile by tile from the saved lse and delta = rowsum(dO * O), so
// nothing of size [T, S] is ever stored.
//
// Two kernels of 4 warps over 64-row tiles; each output row has one owner, so
// there are no atomics and results are deterministic:
//   dkdv: a block owns 64 keys of one (b, h), warp w keys 16w..16w+15, whose
//         dK and dV rows stay in accumulator fragments. Per tile of 64
//         queries that sees the keys (Q, dO staged in shared memory):
//           S^T = K_w Q^T, P^T = exp(scale S^T - lse) masked, dV_w += P^T dO,
//           dS^T = P^T * (V_w dO^T - delta), dK_w += dS^T Q.
//         Working transposed makes the warp's keys the M dimension, so P^T
//         and dS^T are row-major left operands straight from the scratch.
//   dq:   a block owns 64 queries, warp w rows 16w..16w+15. Per tile of 64
//         keys they see: S = Q_w K^T, P, dS = P * (dO_w V^T - delta),
//         dQ_w += dS K.
// The "- delta" comes out of the MMA: its accumulator starts from a shared
// tile holding -delta, and P is loaded into an accumulator fragment of the
// same type, so dS = P * (dP - delta) is elementwise on fragments with the
// same (opaque) element mapping. The scale of dS is applied once, to dK and dQ.
// q, k, v, dout are read through their (batch, head, row) strides (rows
// 16-byte aligned: the launcher checks); dq, dk, dv are written contiguous.
#include <mma.h>

#include <atomic>

#include "core/cuda_launch.cuh"
#include "ops/attention/causal_attention_cuda.h"

namespace loglin::cuda {
namespace {

namespace wmma = nvcuda::wmma;
using bf = __nv_bfloat16;

constexpr const char* kOp = "causal_attention";
constexpr int kWarpsB = 4;
constexpr int kThreadsB = kWarpsB * 32;
constexpr int kTile = 16 * kWarpsB;  // queries or keys per tile, 16 per warp
constexpr int kN = kTile / 16;       // 16-wide column blocks of a [16, kTile] score tile
constexpr int kPad = 8;              // bf16 row padding: rows stay 16-byte aligned, banks staggered
constexpr int kLdW = kTile + kPad;   // pitch of the per-warp score scratch (f32 and bf16)

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// Shared memory of both kernels: four bf16 [kTile, D] tiles (K, V, Q, dO),
// per warp an f32 [16, kLdW] score scratch and a bf16 [16, kLdW] operand
// scratch, the -delta tile and the tile's lse. Every WMMA pointer lands on a
// multiple of 32 bytes.
template <int D>
struct BwdLayout {
  static constexpr int ld = D + kPad;
  static constexpr size_t tile_bytes = sizeof(bf) * kTile * ld;
  static constexpr size_t tiles_bytes = 4 * tile_bytes;
  static constexpr size_t sw_bytes = sizeof(float) * 16 * kLdW;  // per warp
  static constexpr size_t pw_bytes = sizeof(bf) * 16 * kLdW;     // per warp
  static constexpr size_t nd_offset = tiles_bytes + kWarpsB * (sw_bytes + pw_bytes);
  // dkdv: -delta varies along the columns (queries): one [16, kLdW] tile
  // whose rows are equal. dq: it varies along the rows: [kTile, 16].
  static constexpr size_t nd_bytes_dkdv = sizeof(float) * 16 * kLdW;
  static constexpr size_t nd_bytes_dq = sizeof(float) * kTile * 16;
  static constexpr size_t total_dkdv = nd_offset + nd_bytes_dkdv + sizeof(float) * kTile;
  static constexpr size_t total_dq = nd_offset + nd_bytes_dq + sizeof(float) * kTile;
  static_assert(tile_bytes % 32 == 0 && sw_bytes % 32 == 0 && pw_bytes % 32 == 0 && nd_offset % 32 == 0 &&
                    nd_bytes_dkdv % 32 == 0 && nd_bytes_dq % 32 == 0,
                "WMMA needs 32-byte aligned pointers");
  static_assert(ld % 8 == 0 && kLdW % 8 == 0, "bf16 WMMA leading dimensions are multiples of 8");
};

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// x clamped to [-2 kTile, 2 kTile]: enough for comparing against differences
// of tile positions, in 32-bit arithmetic.
__device__ __forceinline__ int clamp_tile(int64_t x) {
  return static_cast<int>(x < -2 * kTile ? -2 * kTile : (x > 2 * kTile ? 2 * kTile : x));
}

// kTile x D bf16 rows from global (row r at src + r * src_ld, every row
// 16-byte aligned) into shared (pitch D + kPad), zero past `valid` rows, in
// 16-byte vectors.
template <int D>
__device__ __forceinline__ void load_rows(bf* dst, const bf* src, int64_t src_ld, int valid) {
  constexpr int kVec = D / 8, ld = D + kPad;
  for (int i = threadIdx.x; i < kTile * kVec; i += kThreadsB) {
    const int r = i / kVec, c = i - r * kVec;
    uint4 x = make_uint4(0, 0, 0, 0);
    if (r < valid) x = __ldg(reinterpret_cast<const uint4*>(src + r * src_ld + c * 8));
    *reinterpret_cast<uint4*>(dst + r * ld + c * 8) = x;
  }
}

// The warp's [16, kTile] f32 scratch as bf16 into its operand scratch. Lane l
// takes column l of each half row, so a warp touches 32 consecutive words.
__device__ __forceinline__ void scratch_to_bf16(const float* Sw, bf* Pw, int lane) {
#pragma unroll
  for (int i = 0; i < 32; ++i) {
    const int row = i >> 1, col = ((i & 1) << 5) + lane;
    Pw[row * kLdW + col] = __float2bfloat16_rn(Sw[row * kLdW + col]);
  }
}

// dS = P * (dP - delta) for the warp's [16, kTile] tile, into Sw (which holds
// P in f32 on entry). a_rows/a_ld: the warp's 16 rows of the left operand of
// dP; b: the tile whose rows are dP's columns (B^T, read column-major);
// nd(n): the -delta accumulator start of column block n.
template <int D, class NdPtr>
__device__ __forceinline__ void ds_into_scratch(float* Sw, const bf* a_rows, const bf* b, NdPtr nd, int nd_ld) {
  constexpr int ld = D + kPad, kF = D / 16;
  FragC dp[kN];
#pragma unroll
  for (int n = 0; n < kN; ++n) wmma::load_matrix_sync(dp[n], nd(n), nd_ld, wmma::mem_row_major);
#pragma unroll 1
  for (int f = 0; f < kF; ++f) {
    FragA af;
    wmma::load_matrix_sync(af, a_rows + f * 16, ld);
#pragma unroll
    for (int n = 0; n < kN; ++n) {
      FragBCol bfr;
      wmma::load_matrix_sync(bfr, b + n * 16 * ld + f * 16, ld);
      wmma::mma_sync(dp[n], af, bfr, dp[n]);
    }
  }
#pragma unroll
  for (int n = 0; n < kN; ++n) {
    FragC pf;
    wmma::load_matrix_sync(pf, Sw + n * 16, kLdW, wmma::mem_row_major);
#pragma unroll
    for (int e = 0; e < pf.num_elements; ++e) dp[n].x[e] *= pf.x[e];
  }
  __syncwarp();  // every lane has read P before any lane overwrites it
#pragma unroll
  for (int n = 0; n < kN; ++n) wmma::store_matrix_sync(Sw + n * 16, dp[n], kLdW, wmma::mem_row_major);
}

// Scores of the warp's 16 rows (a_rows, the left operand) against kTile rows
// of b (read column-major, i.e. as b^T) into Sw, f32.
template <int D>
__device__ __forceinline__ void scores_into_scratch(float* Sw, const bf* a_rows, const bf* b) {
  constexpr int ld = D + kPad, kF = D / 16;
  FragC sf[kN];
#pragma unroll
  for (int n = 0; n < kN; ++n) wmma::fill_fragment(sf[n], 0.0f);
#pragma unroll 1
  for (int f = 0; f < kF; ++f) {
    FragA af;
    wmma::load_matrix_sync(af, a_rows + f * 16, ld);
#pragma unroll
    for (int n = 0; n < kN; ++n) {
      FragBCol bfr;
      wmma::load_matrix_sync(bfr, b + n * 16 * ld + f * 16, ld);
      wmma::mma_sync(sf[n], af, bfr, sf[n]);
    }
  }
#pragma unroll
  for (int n = 0; n < kN; ++n) wmma::store_matrix_sync(Sw + n * 16, sf[n], kLdW, wmma::mem_row_major);
}

// acc[f] += Pw [16, kTile] (bf16, row-major) x rows [kTile, D] (row-major).
template <int D>
__device__ __forceinline__ void accumulate_product(FragC (&acc)[D / 16], const bf* Pw, const bf* rows) {
  constexpr int ld = D + kPad, kF = D / 16;
#pragma unroll 1
  for (int kk = 0; kk < kN; ++kk) {
    FragA pf;
    wmma::load_matrix_sync(pf, Pw + kk * 16, kLdW);
#pragma unroll
    for (int f = 0; f < kF; ++f) {
      FragBRow bfr;
      wmma::load_matrix_sync(bfr, rows + kk * 16 * ld + f * 16, ld);
      wmma::mma_sync(acc[f], pf, bfr, acc[f]);
    }
  }
}

// mul * acc (the warp's [16, D] rows) as bf16 into dst rows 0..valid-1 (ld D),
// through the f32 scratch, 64 columns at a time.
template <int D>
__device__ __forceinline__ void store_rows(bf* dst, FragC (&acc)[D / 16], float mul, int valid, float* Sw,
                                           int lane) {
#pragma unroll
  for (int c0 = 0; c0 < D / 16; c0 += kN) {
#pragma unroll
    for (int f = 0; f < kN; ++f) wmma::store_matrix_sync(Sw + f * 16, acc[c0 + f], kLdW, wmma::mem_row_major);
    __syncwarp();
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int row = i >> 1, col = ((i & 1) << 5) + lane;
      if (row < valid)
        dst[static_cast<int64_t>(row) * D + c0 * 16 + col] = __float2bfloat16_rn(Sw[row * kLdW + col] * mul);
    }
    __syncwarp();  // the next chunk overwrites the scratch
  }
}

// q, dout [B, H, T, D] and k, v [B, H, S, D] (strided); dk, dv [BH, S, D];
// lse, delta [BH, T].
// Blocks go key tile by key tile: early keys are seen by the most queries.
template <int D>
__global__ void __launch_bounds__(kThreadsB)
    attn_bwd_dkdv_tc_kernel(const bf* __restrict__ q, const bf* __restrict__ k, const bf* __restrict__ v,
                            const bf* __restrict__ dout, const float* __restrict__ lse,
                            const float* __restrict__ delta, bf* __restrict__ dk, bf* __restrict__ dv,
                            AttentionShape sh, AttentionStrides st) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using L = BwdLayout<D>;
  constexpr int ld = L::ld, kF = D / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf* Ks = reinterpret_cast<bf*>(smem_raw);
  bf* Vs = Ks + kTile * ld;
  bf* Qs = Vs + kTile * ld;
  bf* dOs = Qs + kTile * ld;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Sw = reinterpret_cast<float*>(smem_raw + L::tiles_bytes + warp * L::sw_bytes);
  bf* Pw = reinterpret_cast<bf*>(smem_raw + L::tiles_bytes + kWarpsB * L::sw_bytes + warp * L::pw_bytes);
  float* ND = reinterpret_cast<float*>(smem_raw + L::nd_offset);  // [16, kLdW], row r = -delta of the tile
  float* lse_s = ND + 16 * kLdW;                                   // [kTile]

  const int64_t bh = blockIdx.x % sh.BH;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x / sh.BH) * kTile;
  const int64_t T = sh.T, S = sh.S, off = S - T;  // query t sees keys <= off + t
  const int nk = static_cast<int>(min64(kTile, S - k0));
  const float scale = static_cast<float>(sh.scale);
  const int64_t kw = k0 + warp * 16;  // the warp's first key
  const bool warp_active = kw < S;
  const bf* Kw = Ks + warp * 16 * ld;
  const bf* Vw = Vs + warp * 16 * ld;

  const bf* qh = q + head_offset(st.q, bh, sh.H);
  const bf* doh = dout + head_offset(st.dout, bh, sh.H);
  load_rows<D>(Ks, k + head_offset(st.k, bh, sh.H) + k0 * st.k.row, st.k.row, nk);
  load_rows<D>(Vs, v + head_offset(st.v, bh, sh.H) + k0 * st.v.row, st.v.row, nk);

  FragC dkf[kF], dvf[kF];
#pragma unroll
  for (int f = 0; f < kF; ++f) wmma::fill_fragment(dkf[f], 0.0f), wmma::fill_fragment(dvf[f], 0.0f);

  // Query t sees key k0 iff t >= k0 - off: earlier query tiles are all masked.
  for (int64_t t0 = k0 - off > 0 ? k0 - off : 0; t0 < T; t0 += kTile) {
    __syncthreads();  // every warp is done with the previous Q, dO, -delta and lse (and K, V are loaded)
    const int rows = static_cast<int>(min64(kTile, T - t0));
    const int64_t row0 = bh * T + t0;
    load_rows<D>(Qs, qh + t0 * st.q.row, st.q.row, rows);
    load_rows<D>(dOs, doh + t0 * st.dout.row, st.dout.row, rows);
    if (threadIdx.x < kTile) {
      const int c = threadIdx.x;
      const bool ok = c < rows;
      lse_s[c] = ok ? lse[row0 + c] : 0.f;
      const float nd = ok ? -delta[row0 + c] : 0.f;
#pragma unroll
      for (int r = 0; r < 16; ++r) ND[r * kLdW + c] = nd;
    }
    __syncthreads();
    // The tile's last query sees keys up to off + t0 + rows - 1.
    if (!warp_active || kw > off + t0 + rows - 1) continue;

    scores_into_scratch<D>(Sw, Kw, Qs);  // S^T = K_w Q^T
    __syncwarp();
    {
      // Lane l holds queries l and 32 + l of every key row. Key kw + row is
      // visible to query t0 + col iff row - col <= off + t0 - kw.
      const float lse_lo = lse_s[lane], lse_hi = lse_s[32 + lane];
      const int lim = clamp_tile(off + t0 - kw);
#pragma unroll
      for (int i = 0; i < 32; ++i) {
        const int row = i >> 1, col = ((i & 1) << 5) + lane;
        float p = 0.f;
        if (col < rows && row - col <= lim)
          p = __expf(Sw[row * kLdW + col] * scale - ((i & 1) ? lse_hi : lse_lo));
        Sw[row * kLdW + col] = p;
        Pw[row * kLdW + col] = __float2bfloat16_rn(p);
      }
    }
    __syncwarp();
    accumulate_product<D>(dvf, Pw, dOs);  // dV_w += P^T dO
    // dS^T = P^T * (V_w dO^T - delta); the -delta tile's rows are all alike.
    ds_into_scratch<D>(Sw, Vw, dOs, [&](int n) { return ND + n * 16; }, kLdW);
    __syncwarp();  // dS^T is complete, and every lane is done reading P^T from Pw
    scratch_to_bf16(Sw, Pw, lane);
    __syncwarp();
    accumulate_product<D>(dkf, Pw, Qs);  // dK_w += dS^T Q
    __syncwarp();  // the next tile's scores overwrite the scratch
  }

  if (!warp_active) return;
  const int valid = static_cast<int>(min64(16, S - kw));
  store_rows<D>(dk + (bh * S + kw) * D, dkf, scale, valid, Sw, lane);
  store_rows<D>(dv + (bh * S + kw) * D, dvf, 1.f, valid, Sw, lane);
#else
  __trap();  // the launcher never picks this kernel below sm_80
#endif
}

// Blocks go heaviest (last) query tile first.
template <int D>
__global__ void __launch_bounds__(kThreadsB)
    attn_bwd_dq_tc_kernel(const bf* __restrict__ q, const bf* __restrict__ k, const bf* __restrict__ v,
                          const bf* __restrict__ dout, const float* __restrict__ lse,
                          const float* __restrict__ delta, bf* __restrict__ dq, AttentionShape sh,
                          AttentionStrides st, int n_tiles) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using L = BwdLayout<D>;
  constexpr int ld = L::ld, kF = D / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf* Ks = reinterpret_cast<bf*>(smem_raw);
  bf* Vs = Ks + kTile * ld;
  bf* Qs = Vs + kTile * ld;
  bf* dOs = Qs + kTile * ld;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* Sw = reinterpret_cast<float*>(smem_raw + L::tiles_bytes + warp * L::sw_bytes);
  bf* Pw = reinterpret_cast<bf*>(smem_raw + L::tiles_bytes + kWarpsB * L::sw_bytes + warp * L::pw_bytes);
  float* ND = reinterpret_cast<float*>(smem_raw + L::nd_offset);  // [kTile, 16], row r = -delta of query r
  float* lse_s = ND + kTile * 16;                                  // [kTile]

  const int64_t bh = blockIdx.x % sh.BH;
  const int64_t q0 = static_cast<int64_t>(n_tiles - 1 - static_cast<int>(blockIdx.x / sh.BH)) * kTile;
  const int64_t T = sh.T, S = sh.S, off = S - T;
  const int rows = static_cast<int>(min64(kTile, T - q0));
  const int64_t key_end = off + q0 + rows;  // exclusive: the block's last query sees keys below it
  const int64_t row0 = bh * T + q0;
  const float scale = static_cast<float>(sh.scale);
  const int64_t tw = q0 + warp * 16;  // the warp's first query
  const bool warp_active = tw < T;
  const int warp_rows = static_cast<int>(min64(16, T - tw));  // valid rows of the warp (when active)
  const int64_t warp_last_key = off + tw + 15;
  const bf* Qw = Qs + warp * 16 * ld;
  const bf* dOw = dOs + warp * 16 * ld;
  const float* lse_w = lse_s + warp * 16;
  const float* ND_w = ND + warp * 16 * 16;

  const bf* kh = k + head_offset(st.k, bh, sh.H);
  const bf* vh = v + head_offset(st.v, bh, sh.H);
  load_rows<D>(Qs, q + head_offset(st.q, bh, sh.H) + q0 * st.q.row, st.q.row, rows);
  load_rows<D>(dOs, dout + head_offset(st.dout, bh, sh.H) + q0 * st.dout.row, st.dout.row, rows);
  if (threadIdx.x < kTile) {
    const int r = threadIdx.x;
    const bool ok = r < rows;
    lse_s[r] = ok ? lse[row0 + r] : 0.f;
    const float nd = ok ? -delta[row0 + r] : 0.f;
#pragma unroll
    for (int c = 0; c < 16; ++c) ND[r * 16 + c] = nd;
  }

  FragC dqf[kF];
#pragma unroll
  for (int f = 0; f < kF; ++f) wmma::fill_fragment(dqf[f], 0.0f);

  for (int64_t k0 = 0; k0 < key_end; k0 += kTile) {
    __syncthreads();  // every warp is done with the previous K, V (and Q, dO, -delta, lse are in place)
    const int nk = static_cast<int>(min64(kTile, S - k0));
    load_rows<D>(Ks, kh + k0 * st.k.row, st.k.row, nk);
    load_rows<D>(Vs, vh + k0 * st.v.row, st.v.row, nk);
    __syncthreads();
    if (!warp_active || k0 > warp_last_key) continue;

    scores_into_scratch<D>(Sw, Qw, Ks);  // S = Q_w K^T
    __syncwarp();
    // Key k0 + col is visible to query tw + row iff col - row <= off + tw - k0.
    const int lim = clamp_tile(off + tw - k0);
#pragma unroll
    for (int i = 0; i < 32; ++i) {
      const int row = i >> 1, col = ((i & 1) << 5) + lane;
      float p = 0.f;
      if (row < warp_rows && col - row <= lim) p = __expf(Sw[row * kLdW + col] * scale - lse_w[row]);
      Sw[row * kLdW + col] = p;
    }
    __syncwarp();
    // dS = P * (dO_w V^T - delta); the -delta tile's columns are all alike.
    ds_into_scratch<D>(Sw, dOw, Vs, [&](int) { return ND_w; }, 16);
    __syncwarp();  // dS is complete; the previous tile's readers of Pw are long done
    scratch_to_bf16(Sw, Pw, lane);
    __syncwarp();
    accumulate_product<D>(dqf, Pw, Ks);  // dQ_w += dS K
    __syncwarp();
  }

  if (!warp_active) return;
  store_rows<D>(dq + (bh * T + tw) * D, dqf, scale, warp_rows, Sw, lane);
#else
  __trap();  // the launcher never picks this kernel below sm_80
#endif
}

template <class Kernel>
void set_smem(Kernel kernel, size_t bytes, int D, int device) {
  int max_bytes = 0;
  LOGLIN_CUDA_CHECK(cudaDeviceGetAttribute(&max_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), kOp);
  LOGLIN_CHECK(bytes <= static_cast<size_t>(max_bytes),
               "[{}] the bf16 backward kernel for D = {} needs {} bytes of shared memory per block, the device has {}",
               kOp, D, bytes, max_bytes);
  LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
                    kOp);
}

template <int D>
void launch_bwd_tc(const AttentionShape& s, const AttentionStrides& st, const bf* q, const bf* k, const bf* v,
                   const float* lse, const bf* dout, const float* delta, bf* dq, bf* dk, bf* dv, int device) {
  using L = BwdLayout<D>;
  const int64_t q_tiles = (s.T + kTile - 1) / kTile, k_tiles = (s.S + kTile - 1) / kTile;
  LOGLIN_CHECK(k_tiles * s.BH < (int64_t{1} << 31), "[{}] {} heads x {} tiles is too large a grid", kOp, s.BH,
               k_tiles);
  cudaStream_t cuda_stream = stream(device);  // also makes `device` current, which the smem attribute applies to

  auto dq_kernel = attn_bwd_dq_tc_kernel<D>;
  set_smem(dq_kernel, L::total_dq, D, device);
  dq_kernel<<<static_cast<unsigned>(q_tiles * s.BH), kThreadsB, L::total_dq, cuda_stream>>>(
      q, k, v, dout, lse, delta, dq, s, st, static_cast<int>(q_tiles));
  LOGLIN_CUDA_LAUNCHED(kOp);

  auto kv_kernel = attn_bwd_dkdv_tc_kernel<D>;
  set_smem(kv_kernel, L::total_dkdv, D, device);
  kv_kernel<<<static_cast<unsigned>(k_tiles * s.BH), kThreadsB, L::total_dkdv, cuda_stream>>>(
      q, k, v, dout, lse, delta, dk, dv, s, st);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

}  // namespace

template <class T>
void causal_attention_bwd_tc(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v,
                             const T* o, const float* lse, const T* dout, float* delta, T* dq, T* dk, T* dv,
                             int device) {
  static_assert(sizeof(T) == sizeof(bf), "the tensor-core path takes bf16");
  if (s.BH == 0) return;
  const int64_t B = s.BH / s.H;
  LOGLIN_CHECK(rows_aligned16(q, st.q, B, s.H, s.T, sizeof(bf)) && rows_aligned16(k, st.k, B, s.H, s.S, sizeof(bf)) &&
                   rows_aligned16(v, st.v, B, s.H, s.S, sizeof(bf)) &&
                   rows_aligned16(dout, st.dout, B, s.H, s.T, sizeof(bf)),
               "[{}] the bf16 backward needs the rows of q, k, v and dout 16-byte aligned", kOp);
  causal_attention_delta<T>(s, st, o, dout, delta, device);
  const auto* qd = reinterpret_cast<const bf*>(q);
  const auto* kd = reinterpret_cast<const bf*>(k);
  const auto* vd = reinterpret_cast<const bf*>(v);
  const auto* dod = reinterpret_cast<const bf*>(dout);
  auto* dqd = reinterpret_cast<bf*>(dq);
  auto* dkd = reinterpret_cast<bf*>(dk);
  auto* dvd = reinterpret_cast<bf*>(dv);
  if (s.D == 64) launch_bwd_tc<64>(s, st, qd, kd, vd, lse, dod, delta, dqd, dkd, dvd, device);
  else if (s.D == 128) launch_bwd_tc<128>(s, st, qd, kd, vd, lse, dod, delta, dqd, dkd, dvd, device);
  else LOGLIN_FAIL("[{}] the bf16 tensor-core backward takes D = 64 or 128, got {}", kOp, s.D);
}

template void causal_attention_bwd_tc<bf16>(const AttentionShape&, AttentionStrides, const bf16*, const bf16*,
                                            const bf16*, const bf16*, const float*, const bf16*, float*, bf16*, bf16*,
                                            bf16*, int);

}  // namespace loglin::cuda

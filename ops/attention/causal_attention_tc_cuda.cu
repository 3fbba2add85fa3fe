// Tensor-core causal attention forward (bf16 storage, WMMA 16x16x16 with f32
// accumulation, f32 softmax statistics) for head dims 64 and 128.
//
// A block of 4 warps owns 64 query rows of one (b, h); warp w owns rows
// 16w..16w+15 and keeps its Q fragments and O accumulators in registers.
// Per tile of 64 keys (K, V staged in shared memory by the whole block):
//   S = Q K^T on tensor cores -> f32 scratch; online softmax over the scratch
//   (two lanes per row) -> bf16 P; O rescaled by exp(m_old - m_new) through
//   the scratch (WMMA hides the accumulator layout), then O += P V.
// Tiles a warp cannot see (all keys past its last row) are skipped. Writes O
// (bf16) and lse = m + log(l) (f32) for the backward. q, k, v are read and o
// written through their (batch, head, row) strides; q, k, v rows are 16-byte
// aligned (the launcher checks).
#include <mma.h>

#include "core/cuda_launch.cuh"
#include "ops/attention/causal_attention_cuda.h"

namespace loglin::cuda {
namespace {

namespace wmma = nvcuda::wmma;

constexpr const char* kOp = "causal_attention";
constexpr int kWarpsTC = 4;
constexpr int kRowsTC = 16 * kWarpsTC;  // query rows per block
constexpr int kKeysTC = 64;             // keys per tile
constexpr int kPad = 8;                 // bf16 row padding: keeps rows 16-byte aligned, staggers banks
constexpr int kLdP = kKeysTC + kPad;    // P and S scratch row pitch

using bf = __nv_bfloat16;

template <int D>
struct TcLayout {
  static constexpr int ld = D + kPad;  // Q, K, V tile pitch (bf16) and O scratch pitch (f32)
  static constexpr int scratch_ld = ld > kLdP ? ld : kLdP;
  static constexpr size_t tile_bytes = sizeof(bf) * kKeysTC * ld;
  static constexpr size_t p_bytes = sizeof(bf) * 16 * kLdP;           // per warp
  static constexpr size_t scratch_bytes = sizeof(float) * 16 * scratch_ld;  // per warp
  static constexpr size_t total = 3 * tile_bytes + kWarpsTC * (p_bytes + scratch_bytes);
  static_assert(tile_bytes % 32 == 0 && p_bytes % 32 == 0 && scratch_bytes % 32 == 0, "WMMA needs 32-byte alignment");
};

// rows x D bf16 from global (row r at src + r * ld, every row 16-byte
// aligned) into shared (pitch TcLayout<D>::ld), zero past `valid` rows, in
// 16-byte vectors.
template <int D>
__device__ __forceinline__ void load_tile_tc(bf* dst, const bf* src, int64_t ld, int valid) {
  constexpr int kVec = D / 8;
  for (int i = threadIdx.x; i < kKeysTC * kVec; i += blockDim.x) {
    const int r = i / kVec, c = i - r * kVec;
    uint4 x = make_uint4(0, 0, 0, 0);
    if (r < valid) x = *reinterpret_cast<const uint4*>(src + r * ld + c * 8);
    *reinterpret_cast<uint4*>(dst + r * TcLayout<D>::ld + c * 8) = x;
  }
}

template <int D>
__global__ void __launch_bounds__(kWarpsTC * 32)
    attn_fwd_tc_kernel(const bf* __restrict__ q, const bf* __restrict__ k, const bf* __restrict__ v,
                       bf* __restrict__ o, float* __restrict__ lse, AttentionShape sh, AttentionStrides st,
                       int n_tiles) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using L = TcLayout<D>;
  constexpr int ld = L::ld, kF = D / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf* Qs = reinterpret_cast<bf*>(smem_raw);
  bf* Ks = Qs + kKeysTC * ld;
  bf* Vs = Ks + kKeysTC * ld;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  bf* Pw = Vs + kKeysTC * ld + warp * 16 * kLdP;
  float* Sw = reinterpret_cast<float*>(smem_raw + 3 * L::tile_bytes + kWarpsTC * L::p_bytes) + warp * 16 * L::scratch_ld;

  const int64_t bh = blockIdx.x % sh.BH;
  const int64_t q0 = static_cast<int64_t>(n_tiles - 1 - static_cast<int>(blockIdx.x / sh.BH)) * kRowsTC;
  const int64_t T = sh.T, S = sh.S, off = S - T;
  const int rows = static_cast<int>(T - q0 < kRowsTC ? T - q0 : kRowsTC);
  const int64_t key_end = off + q0 + rows;
  const float scale = static_cast<float>(sh.scale);

  const bf* kh = k + head_offset(st.k, bh, sh.H);
  const bf* vh = v + head_offset(st.v, bh, sh.H);
  load_tile_tc<D>(Qs, q + head_offset(st.q, bh, sh.H) + q0 * st.q.row, st.q.row, rows);
  __syncthreads();

  // This lane's row of the warp's 16 (two lanes per row, each half the columns).
  const int r = lane >> 1, half = lane & 1;
  const int64_t tq = q0 + warp * 16 + r;
  const bool row_valid = tq < T;
  const int64_t warp_last_key = off + q0 + warp * 16 + 15;  // keys past this are masked for every row
  const bool warp_active = q0 + warp * 16 < T;

  wmma::fragment<wmma::matrix_a, 16, 16, 16, bf, wmma::row_major> qf[kF];
  wmma::fragment<wmma::accumulator, 16, 16, 16, float> of[kF];
  for (int f = 0; f < kF; ++f) {
    wmma::load_matrix_sync(qf[f], Qs + warp * 16 * ld + f * 16, ld);
    wmma::fill_fragment(of[f], 0.0f);
  }
  float m = -INFINITY, l = 0.f;

  for (int64_t k0 = 0; k0 < key_end; k0 += kKeysTC) {
    __syncthreads();  // every warp is done with the previous K, V
    const int nk = static_cast<int>(S - k0 < kKeysTC ? S - k0 : kKeysTC);
    load_tile_tc<D>(Ks, kh + k0 * st.k.row, st.k.row, nk);
    load_tile_tc<D>(Vs, vh + k0 * st.v.row, st.v.row, nk);
    __syncthreads();
    if (!warp_active || k0 > warp_last_key) continue;

    // S = Q K^T: K row-major [keys, D] is K^T column-major.
    for (int n = 0; n < kKeysTC / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sf;
      wmma::fill_fragment(sf, 0.0f);
      for (int f = 0; f < kF; ++f) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, Ks + n * 16 * ld + f * 16, ld);
        wmma::mma_sync(sf, qf[f], kf, sf);
      }
      wmma::store_matrix_sync(Sw + n * 16, sf, kLdP, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax of row r over columns half*32 .. half*32+31.
    const int64_t limit = off + tq;  // last visible key of this row
    float sv[32];
    float tmax = -INFINITY;
    for (int c = 0; c < 32; ++c) {
      const int col = half * 32 + c;
      const float s = (row_valid && k0 + col <= limit) ? Sw[r * kLdP + col] * scale : -INFINITY;
      sv[c] = s;
      tmax = fmaxf(tmax, s);
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, 1));
    const float mn = fmaxf(m, tmax);
    const float mu = mn == -INFINITY ? 0.f : mn;
    const float alpha = __expf(m - mu);
    float psum = 0.f;
    for (int c = 0; c < 32; ++c) {
      const float p = __expf(sv[c] - mu);
      psum += p;
      Pw[r * kLdP + half * 32 + c] = __float2bfloat16_rn(p);
    }
    psum += __shfl_xor_sync(0xffffffffu, psum, 1);
    l = l * alpha + psum;
    m = mn;
    __syncwarp();  // P written, and every lane is done reading S

    // O *= alpha per row, through the scratch (which S no longer needs).
    if (!__all_sync(0xffffffffu, alpha == 1.f)) {
      for (int f = 0; f < kF; ++f) wmma::store_matrix_sync(Sw + f * 16, of[f], ld, wmma::mem_row_major);
      __syncwarp();
      for (int c = half * (D / 2); c < (half + 1) * (D / 2); ++c) Sw[r * ld + c] *= alpha;
      __syncwarp();
      for (int f = 0; f < kF; ++f) wmma::load_matrix_sync(of[f], Sw + f * 16, ld, wmma::mem_row_major);
    }

    // O += P V.
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf, wmma::row_major> pf[kKeysTC / 16];
    for (int kk = 0; kk < kKeysTC / 16; ++kk) wmma::load_matrix_sync(pf[kk], Pw + kk * 16, kLdP);
    for (int f = 0; f < kF; ++f)
      for (int kk = 0; kk < kKeysTC / 16; ++kk) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf, wmma::row_major> vf;
        wmma::load_matrix_sync(vf, Vs + kk * 16 * ld + f * 16, ld);
        wmma::mma_sync(of[f], pf[kk], vf, of[f]);
      }
    __syncwarp();  // the next tile's S store overwrites the scratch
  }

  if (!warp_active) return;
  for (int f = 0; f < kF; ++f) wmma::store_matrix_sync(Sw + f * 16, of[f], ld, wmma::mem_row_major);
  __syncwarp();
  if (row_valid) {
    const float inv = 1.f / l;
    bf* orow = o + head_offset(st.o, bh, sh.H) + tq * st.o.row;
    for (int c = half * (D / 2); c < (half + 1) * (D / 2); ++c) orow[c] = __float2bfloat16_rn(Sw[r * ld + c] * inv);
    if (half == 0) lse[bh * T + tq] = m + logf(l);
  }
#else
  __trap();  // the launcher never picks this kernel below sm_80
#endif
}

template <int D>
void launch_tc(const AttentionShape& s, const AttentionStrides& st, const bf* q, const bf* k, const bf* v, bf* o,
               float* lse, int device) {
  constexpr size_t smem = TcLayout<D>::total;
  const int64_t tiles = (s.T + kRowsTC - 1) / kRowsTC;
  LOGLIN_CHECK(tiles * s.BH < (int64_t{1} << 31), "[{}] {} heads x {} tiles is too large a grid", kOp, s.BH, tiles);
  cudaStream_t cuda_stream = stream(device);  // also makes `device` current, which the smem attribute applies to
  auto kernel = attn_fwd_tc_kernel<D>;
  int max_bytes = 0;
  LOGLIN_CUDA_CHECK(cudaDeviceGetAttribute(&max_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), kOp);
  LOGLIN_CHECK(smem <= static_cast<size_t>(max_bytes), "[{}] the bf16 kernel for D = {} needs {} bytes of shared "
               "memory per block, the device has {}", kOp, D, smem, max_bytes);
  LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
                    kOp);
  kernel<<<static_cast<unsigned>(tiles * s.BH), kWarpsTC * 32, smem, cuda_stream>>>(q, k, v, o, lse, s, st,
                                                                                    static_cast<int>(tiles));
  LOGLIN_CUDA_LAUNCHED(kOp);
}

}  // namespace

bool causal_attention_fwd_tc_supported(int64_t D, int device) {
  if (D != 64 && D != 128) return false;
  int major = 0;
  LOGLIN_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), kOp);
  return major >= 8;
}

template <class T>
void causal_attention_fwd_tc(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v, T* o,
                             float* lse, int device) {
  static_assert(sizeof(T) == sizeof(bf), "the tensor-core path takes bf16");
  if (s.BH == 0) return;
  const auto* qd = reinterpret_cast<const bf*>(q);
  const auto* kd = reinterpret_cast<const bf*>(k);
  const auto* vd = reinterpret_cast<const bf*>(v);
  const int64_t B = s.BH / s.H;
  LOGLIN_CHECK(rows_aligned16(q, st.q, B, s.H, s.T, sizeof(bf)) && rows_aligned16(k, st.k, B, s.H, s.S, sizeof(bf)) &&
                   rows_aligned16(v, st.v, B, s.H, s.S, sizeof(bf)),
               "[{}] the bf16 kernel needs the rows of q, k and v 16-byte aligned", kOp);
  if (s.D == 64) launch_tc<64>(s, st, qd, kd, vd, reinterpret_cast<bf*>(o), lse, device);
  else if (s.D == 128) launch_tc<128>(s, st, qd, kd, vd, reinterpret_cast<bf*>(o), lse, device);
  else LOGLIN_FAIL("[{}] the bf16 tensor-core kernel takes D = 64 or 128, got {}", kOp, s.D);
}

template void causal_attention_fwd_tc<bf16>(const AttentionShape&, AttentionStrides, const bf16*, const bf16*,
                                            const bf16*, bf16*, float*, int);

}  // namespace loglin::cuda

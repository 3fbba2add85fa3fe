// SIMT flash attention, causal, for any head dim D (f32, f64 and bf16
// storage; compute in attn_acc_t). Never holds more than a [rows, 32] tile of
// scores per block.
//
// Tiles: a block owns BQ query rows (or 32 keys in dK/dV) of one (b, h).
// Keys come in tiles of 32, one per lane: warp w scores rows w, w + 8, ...
// against the tile, so row max / row sum are warp shuffles. Shared rows are
// padded to D + 1 so lanes reading different rows hit different banks.
//
//   fwd:   online softmax over key tiles; O and the row stats stay in shared
//          memory / registers; writes O and lse = m + log(l).
//   delta: delta_t = dO_t . O_t (one warp per row).
//   dq:    per query tile, over key tiles: dS = P (dP - delta), dQ += dS K.
//   dkdv:  per key tile, over the query tiles that see it: dV += P^T dO,
//          dK += dS^T Q. Two passes instead of atomics keep results
//          deterministic.
// q, k, v, dout and o are read (o also written) through their
// (batch, head, row) strides; dq, dk, dv are written contiguous.
#include "core/cuda_launch.cuh"
#include "ops/attention/causal_attention_cuda.h"

namespace loglin::cuda {
namespace {

constexpr const char* kOp = "causal_attention";
constexpr int kKeys = 32;  // keys per tile: one per lane
constexpr int kWarps = 8;
constexpr int kBlock = kWarps * 32;

// Query rows per block: fewer for f64 so the tiles fit in shared memory.
template <class A> constexpr int rows_per_block() { return sizeof(A) == 8 ? 16 : 32; }

__device__ __forceinline__ float ex(float x) { return expf(x); }
__device__ __forceinline__ double ex(double x) { return exp(x); }
__device__ __forceinline__ float lg(float x) { return logf(x); }
__device__ __forceinline__ double lg(double x) { return log(x); }

__device__ __forceinline__ int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

template <class A> __device__ __forceinline__ A neg_inf() { return -static_cast<A>(INFINITY); }

template <class A> __device__ __forceinline__ A warp_max(A x) {
  for (int o = 16; o > 0; o >>= 1) {
    A y = __shfl_xor_sync(0xffffffffu, x, o);
    x = y > x ? y : x;
  }
  return x;
}
template <class A> __device__ __forceinline__ A warp_sum(A x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// Row r of a padded shared tile dotted with row c of another.
template <class A> __device__ __forceinline__ A dot_rows(const A* a, const A* b, int D) {
  A s = 0;
  for (int d = 0; d < D; ++d) s += a[d] * b[d];
  return s;
}

// rows x D from global (row r at src + r * ld, `valid` rows, the rest zero)
// into a shared tile with pitch P.
template <class T, class A>
__device__ __forceinline__ void load_tile(A* dst, int P, const T* src, int64_t ld, int rows, int valid, int D) {
  for (int i = threadIdx.x; i < rows * D; i += blockDim.x) {
    const int r = i / D, d = i - r * D;
    dst[r * P + d] = r < valid ? load_acc(src + r * ld + d) : A(0);
  }
}

// Row r0 of head bh of an operand laid out as `s`.
template <class T>
__device__ __forceinline__ T* row_ptr(T* base, const AttnStrides& s, int64_t bh, int64_t H, int64_t r0) {
  return base + head_offset(s, bh, H) + r0 * s.row;
}

// q, o [B, H, T, D]; k, v [B, H, S, D] (strided); lse [BH, T].
template <class T, int BQ>
__global__ void attn_fwd_simt_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                     T* __restrict__ o, acc_t<T>* __restrict__ lse, AttentionShape sh,
                                     AttentionStrides st, int n_tiles) {
  using A = acc_t<T>;
  constexpr int kRows = BQ / kWarps;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int D = static_cast<int>(sh.D), P = D + 1;
  A* Qs = reinterpret_cast<A*>(smem_raw);  // [BQ][P]
  A* Ks = Qs + BQ * P;                     // [32][P]
  A* Vs = Ks + kKeys * P;                  // [32][D]
  A* Os = Vs + kKeys * D;                  // [BQ][D]
  A* Ps = Os + BQ * D;                     // [BQ][32]
  A* alpha_s = Ps + BQ * kKeys;            // [BQ]
  A* l_s = alpha_s + BQ;                   // [BQ]

  // The heaviest (last) query tiles of every head go first.
  const int64_t bh = blockIdx.x % sh.BH;
  const int64_t q0 = static_cast<int64_t>(n_tiles - 1 - static_cast<int>(blockIdx.x / sh.BH)) * BQ;
  const int rows = static_cast<int>(min64(BQ, sh.T - q0));
  const int64_t off = sh.S - sh.T;        // query row t sees keys <= off + t
  const int64_t key_end = off + q0 + rows;  // exclusive, for the block's last row
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const A scale = static_cast<A>(sh.scale);

  load_tile(Qs, P, row_ptr(q, st.q, bh, sh.H, q0), st.q.row, BQ, rows, D);
  for (int i = threadIdx.x; i < BQ * D; i += blockDim.x) Os[i] = 0;
  A m[kRows], l[kRows];
  for (int i = 0; i < kRows; ++i) m[i] = neg_inf<A>(), l[i] = 0;

  for (int64_t k0 = 0; k0 < key_end; k0 += kKeys) {
    __syncthreads();  // the previous tile's readers of Ks, Vs, Ps are done
    const int nk = static_cast<int>(min64(kKeys, sh.S - k0));
    load_tile(Ks, P, row_ptr(k, st.k, bh, sh.H, k0), st.k.row, kKeys, nk, D);
    load_tile(Vs, D, row_ptr(v, st.v, bh, sh.H, k0), st.v.row, kKeys, nk, D);
    __syncthreads();
    for (int i = 0; i < kRows; ++i) {
      const int r = warp + i * kWarps;
      const int64_t key = k0 + lane;
      A s = neg_inf<A>();
      if (r < rows && key <= off + q0 + r) s = dot_rows(Qs + r * P, Ks + lane * P, D) * scale;
      const A mn = max(m[i], warp_max(s));
      const A mu = mn == neg_inf<A>() ? A(0) : mn;  // a row with nothing visible yet stays at zero
      const A p = ex(s - mu), alpha = ex(m[i] - mu);
      l[i] = l[i] * alpha + warp_sum(p);
      m[i] = mn;
      Ps[r * kKeys + lane] = p;
      if (lane == 0) alpha_s[r] = alpha;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < BQ * D; idx += blockDim.x) {
      const int r = idx / D, d = idx - r * D;
      A acc = Os[idx] * alpha_s[r];
      const A* pr = Ps + r * kKeys;
      for (int j = 0; j < kKeys; ++j) acc += pr[j] * Vs[j * D + d];
      Os[idx] = acc;
    }
  }
  for (int i = 0; i < kRows; ++i) {
    const int r = warp + i * kWarps;
    if (lane == 0) {
      l_s[r] = l[i];
      if (r < rows) lse[bh * sh.T + q0 + r] = m[i] + lg(l[i]);
    }
  }
  __syncthreads();
  T* oh = row_ptr(o, st.o, bh, sh.H, q0);
  for (int idx = threadIdx.x; idx < rows * D; idx += blockDim.x) {
    const int r = idx / D, d = idx - r * D;
    store_from(oh + r * st.o.row + d, Os[idx] / l_s[r]);
  }
}

// delta [BH * T] = rowsum(dout * o), one warp per row; o, dout [B, H, T, D]
// (strided).
template <class T>
__global__ void attn_delta_kernel(const T* __restrict__ o, const T* __restrict__ dout, acc_t<T>* __restrict__ delta,
                                  AttentionShape sh, AttentionStrides st) {
  using A = acc_t<T>;
  const int lane = threadIdx.x % 32;
  const int D = static_cast<int>(sh.D);
  const int64_t n_rows = sh.BH * sh.T;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t row = blockIdx.x * static_cast<int64_t>(blockDim.x / 32) + threadIdx.x / 32; row < n_rows;
       row += warps) {
    const int64_t bh = row / sh.T, t = row - bh * sh.T;
    const T* orow = row_ptr(o, st.o, bh, sh.H, t);
    const T* dorow = row_ptr(dout, st.dout, bh, sh.H, t);
    A s = 0;
    for (int d = lane; d < D; d += 32) s += load_acc(orow + d) * load_acc(dorow + d);
    s = warp_sum(s);
    if (lane == 0) delta[row] = s;
  }
}

// dq for a tile of BQ query rows: loops over the key tiles it sees.
template <class T, int BQ>
__global__ void attn_bwd_dq_simt_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                        const T* __restrict__ dout, const acc_t<T>* __restrict__ lse,
                                        const acc_t<T>* __restrict__ delta, T* __restrict__ dq, AttentionShape sh,
                                        AttentionStrides st, int n_tiles) {
  using A = acc_t<T>;
  constexpr int kRows = BQ / kWarps;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int D = static_cast<int>(sh.D), P = D + 1;
  A* Qs = reinterpret_cast<A*>(smem_raw);  // [BQ][P]
  A* dOs = Qs + BQ * P;                    // [BQ][P]
  A* Ks = dOs + BQ * P;                    // [32][P]
  A* Vs = Ks + kKeys * P;                  // [32][P]
  A* dQs = Vs + kKeys * P;                 // [BQ][D]
  A* dSs = dQs + BQ * D;                   // [BQ][32]

  const int64_t bh = blockIdx.x % sh.BH;
  const int64_t q0 = static_cast<int64_t>(n_tiles - 1 - static_cast<int>(blockIdx.x / sh.BH)) * BQ;
  const int rows = static_cast<int>(min64(BQ, sh.T - q0));
  const int64_t off = sh.S - sh.T, key_end = off + q0 + rows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const A scale = static_cast<A>(sh.scale);
  const int64_t row0 = bh * sh.T + q0;

  load_tile(Qs, P, row_ptr(q, st.q, bh, sh.H, q0), st.q.row, BQ, rows, D);
  load_tile(dOs, P, row_ptr(dout, st.dout, bh, sh.H, q0), st.dout.row, BQ, rows, D);
  for (int i = threadIdx.x; i < BQ * D; i += blockDim.x) dQs[i] = 0;
  A lse_r[kRows], delta_r[kRows];
  for (int i = 0; i < kRows; ++i) {
    const int r = warp + i * kWarps;
    lse_r[i] = r < rows ? lse[row0 + r] : A(0);
    delta_r[i] = r < rows ? delta[row0 + r] : A(0);
  }

  for (int64_t k0 = 0; k0 < key_end; k0 += kKeys) {
    __syncthreads();
    const int nk = static_cast<int>(min64(kKeys, sh.S - k0));
    load_tile(Ks, P, row_ptr(k, st.k, bh, sh.H, k0), st.k.row, kKeys, nk, D);
    load_tile(Vs, P, row_ptr(v, st.v, bh, sh.H, k0), st.v.row, kKeys, nk, D);
    __syncthreads();
    for (int i = 0; i < kRows; ++i) {
      const int r = warp + i * kWarps;
      A ds = 0;
      if (r < rows && k0 + lane <= off + q0 + r) {
        const A p = ex(dot_rows(Qs + r * P, Ks + lane * P, D) * scale - lse_r[i]);
        ds = p * (dot_rows(dOs + r * P, Vs + lane * P, D) - delta_r[i]);
      }
      dSs[r * kKeys + lane] = ds;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < BQ * D; idx += blockDim.x) {
      const int r = idx / D, d = idx - r * D;
      A acc = dQs[idx];
      const A* dsr = dSs + r * kKeys;
      for (int j = 0; j < kKeys; ++j) acc += dsr[j] * Ks[j * P + d];
      dQs[idx] = acc;
    }
  }
  // Each thread writes back the dQs entries it alone accumulated.
  for (int idx = threadIdx.x; idx < rows * D; idx += blockDim.x) store_from(dq + row0 * D + idx, dQs[idx] * scale);
}

// dk, dv for a tile of 32 keys: loops over the query tiles that see it.
template <class T, int BQ>
__global__ void attn_bwd_dkdv_simt_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                          const T* __restrict__ dout, const acc_t<T>* __restrict__ lse,
                                          const acc_t<T>* __restrict__ delta, T* __restrict__ dk, T* __restrict__ dv,
                                          AttentionShape sh, AttentionStrides st) {
  using A = acc_t<T>;
  constexpr int kRows = BQ / kWarps;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int D = static_cast<int>(sh.D), P = D + 1;
  A* Ks = reinterpret_cast<A*>(smem_raw);  // [32][P]
  A* Vs = Ks + kKeys * P;                  // [32][P]
  A* Qs = Vs + kKeys * P;                  // [BQ][P]
  A* dOs = Qs + BQ * P;                    // [BQ][P]
  A* dKs = dOs + BQ * P;                   // [32][D]
  A* dVs = dKs + kKeys * D;                // [32][D]
  A* Ps = dVs + kKeys * D;                 // [BQ][32]
  A* dSs = Ps + BQ * kKeys;                // [BQ][32]
  A* lse_s = dSs + BQ * kKeys;             // [BQ]
  A* delta_s = lse_s + BQ;                 // [BQ]

  // Early key tiles are seen by the most queries: block order is heaviest first.
  const int64_t bh = blockIdx.x % sh.BH;
  const int64_t k0 = static_cast<int64_t>(blockIdx.x / sh.BH) * kKeys;
  const int nk = static_cast<int>(min64(kKeys, sh.S - k0));
  const int64_t off = sh.S - sh.T;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const A scale = static_cast<A>(sh.scale);

  load_tile(Ks, P, row_ptr(k, st.k, bh, sh.H, k0), st.k.row, kKeys, nk, D);
  load_tile(Vs, P, row_ptr(v, st.v, bh, sh.H, k0), st.v.row, kKeys, nk, D);
  for (int i = threadIdx.x; i < kKeys * D; i += blockDim.x) dKs[i] = 0, dVs[i] = 0;

  // Query t sees key k0 iff t >= k0 - off.
  for (int64_t t0 = max64(0, k0 - off); t0 < sh.T; t0 += BQ) {
    __syncthreads();
    const int rows = static_cast<int>(min64(BQ, sh.T - t0));
    const int64_t row0 = bh * sh.T + t0;
    load_tile(Qs, P, row_ptr(q, st.q, bh, sh.H, t0), st.q.row, BQ, rows, D);
    load_tile(dOs, P, row_ptr(dout, st.dout, bh, sh.H, t0), st.dout.row, BQ, rows, D);
    for (int r = threadIdx.x; r < BQ; r += blockDim.x) {
      lse_s[r] = r < rows ? lse[row0 + r] : A(0);
      delta_s[r] = r < rows ? delta[row0 + r] : A(0);
    }
    __syncthreads();
    for (int i = 0; i < kRows; ++i) {
      const int r = warp + i * kWarps;
      A p = 0, ds = 0;
      if (r < rows && lane < nk && k0 + lane <= off + t0 + r) {
        p = ex(dot_rows(Qs + r * P, Ks + lane * P, D) * scale - lse_s[r]);
        ds = p * (dot_rows(dOs + r * P, Vs + lane * P, D) - delta_s[r]);
      }
      Ps[r * kKeys + lane] = p;
      dSs[r * kKeys + lane] = ds;
    }
    __syncthreads();
    for (int idx = threadIdx.x; idx < kKeys * D; idx += blockDim.x) {
      const int j = idx / D, d = idx - j * D;
      A av = dVs[idx], ak = dKs[idx];
      for (int r = 0; r < BQ; ++r) {
        av += Ps[r * kKeys + j] * dOs[r * P + d];
        ak += dSs[r * kKeys + j] * Qs[r * P + d];
      }
      dVs[idx] = av, dKs[idx] = ak;
    }
  }
  const int64_t base = (bh * sh.S + k0) * D;
  for (int idx = threadIdx.x; idx < nk * D; idx += blockDim.x) {
    store_from(dk + base + idx, dKs[idx] * scale);
    store_from(dv + base + idx, dVs[idx]);
  }
}

// Raises the kernel's dynamic shared memory limit when it needs more than the
// default 48 KiB; a head dim too large for the device is an error naming it.
template <class Kernel>
void prepare_smem(Kernel kernel, size_t bytes, int64_t D, int device) {
  int max_bytes = 0;
  LOGLIN_CUDA_CHECK(cudaDeviceGetAttribute(&max_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), kOp);
  LOGLIN_CHECK(bytes <= static_cast<size_t>(max_bytes),
               "[{}] head dim {} needs {} bytes of shared memory per block on CUDA, the device has {}", kOp, D, bytes,
               max_bytes);
  if (bytes > 48 * 1024)
    LOGLIN_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)), kOp);
}

unsigned grid_of(int64_t tiles, int64_t BH) {
  LOGLIN_CHECK(tiles * BH < (int64_t{1} << 31), "[{}] {} heads x {} tiles is too large a grid", kOp, BH, tiles);
  return static_cast<unsigned>(tiles * BH);
}

}  // namespace

template <class T>
void causal_attention_fwd(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v, T* o,
                          attn_acc_t<T>* lse, int device) {
  using DT = device_t<T>;
  using A = acc_t<DT>;
  constexpr int BQ = rows_per_block<A>();
  if (s.BH == 0) return;
  const int64_t tiles = (s.T + BQ - 1) / BQ, P = s.D + 1;
  const size_t smem = sizeof(A) * static_cast<size_t>((BQ + kKeys) * P + (kKeys + BQ) * s.D + BQ * kKeys + 2 * BQ);
  cudaStream_t cs = stream(device);  // also makes `device` current, which the smem attribute applies to
  auto kernel = attn_fwd_simt_kernel<DT, BQ>;
  prepare_smem(kernel, smem, s.D, device);
  kernel<<<grid_of(tiles, s.BH), kBlock, smem, cs>>>(
      reinterpret_cast<const DT*>(q), reinterpret_cast<const DT*>(k), reinterpret_cast<const DT*>(v),
      reinterpret_cast<DT*>(o), lse, s, st, static_cast<int>(tiles));
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <class T>
void causal_attention_delta(const AttentionShape& s, AttentionStrides st, const T* o, const T* dout,
                            attn_acc_t<T>* delta, int device) {
  using DT = device_t<T>;
  const int64_t rows = s.BH * s.T;
  if (rows == 0) return;
  attn_delta_kernel<DT><<<blocks_for(rows * 32), kThreads, 0, stream(device)>>>(
      reinterpret_cast<const DT*>(o), reinterpret_cast<const DT*>(dout), delta, s, st);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <class T>
void causal_attention_bwd(const AttentionShape& s, AttentionStrides st, const T* q, const T* k, const T* v,
                          const T* o, const attn_acc_t<T>* lse, const T* dout, attn_acc_t<T>* delta, T* dq, T* dk,
                          T* dv, int device) {
  using DT = device_t<T>;
  using A = acc_t<DT>;
  constexpr int BQ = rows_per_block<A>();
  if (s.BH == 0) return;
  cudaStream_t cs = stream(device);  // also makes `device` current, which the smem attribute applies to
  const auto* qd = reinterpret_cast<const DT*>(q);
  const auto* kd = reinterpret_cast<const DT*>(k);
  const auto* vd = reinterpret_cast<const DT*>(v);
  const auto* dod = reinterpret_cast<const DT*>(dout);
  const int64_t P = s.D + 1;

  causal_attention_delta<T>(s, st, o, dout, delta, device);

  const int64_t q_tiles = (s.T + BQ - 1) / BQ;
  const size_t dq_smem = sizeof(A) * static_cast<size_t>(2 * (BQ + kKeys) * P + BQ * s.D + BQ * kKeys);
  auto dq_kernel = attn_bwd_dq_simt_kernel<DT, BQ>;
  prepare_smem(dq_kernel, dq_smem, s.D, device);
  dq_kernel<<<grid_of(q_tiles, s.BH), kBlock, dq_smem, cs>>>(qd, kd, vd, dod, lse, delta, reinterpret_cast<DT*>(dq), s,
                                                              st, static_cast<int>(q_tiles));
  LOGLIN_CUDA_LAUNCHED(kOp);

  const int64_t k_tiles = (s.S + kKeys - 1) / kKeys;
  const size_t kv_smem =
      sizeof(A) * static_cast<size_t>(2 * (kKeys + BQ) * P + 2 * kKeys * s.D + 2 * BQ * kKeys + 2 * BQ);
  auto kv_kernel = attn_bwd_dkdv_simt_kernel<DT, BQ>;
  prepare_smem(kv_kernel, kv_smem, s.D, device);
  kv_kernel<<<grid_of(k_tiles, s.BH), kBlock, kv_smem, cs>>>(qd, kd, vd, dod, lse, delta, reinterpret_cast<DT*>(dk),
                                                              reinterpret_cast<DT*>(dv), s, st);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

#define LOGLIN_ATTN_INSTANTIATE(T)                                                                               \
  template void causal_attention_fwd<T>(const AttentionShape&, AttentionStrides, const T*, const T*, const T*, T*, \
                                        attn_acc_t<T>*, int);                                                     \
  template void causal_attention_delta<T>(const AttentionShape&, AttentionStrides, const T*, const T*,            \
                                          attn_acc_t<T>*, int);                                                   \
  template void causal_attention_bwd<T>(const AttentionShape&, AttentionStrides, const T*, const T*, const T*,    \
                                        const T*, const attn_acc_t<T>*, const T*, attn_acc_t<T>*, T*, T*, T*, int);
LOGLIN_ATTN_INSTANTIATE(float)
LOGLIN_ATTN_INSTANTIATE(double)
LOGLIN_ATTN_INSTANTIATE(bf16)
#undef LOGLIN_ATTN_INSTANTIATE

}  // namespace loglin::cuda

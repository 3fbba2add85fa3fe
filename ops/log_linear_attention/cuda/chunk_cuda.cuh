// Device code shared by the CUDA paths of log_linear_attention and
// scalar_decay_attention (interim SIMT kernels, README.md "GPU path
// (interim)"). They follow the chunked CPU code piece by piece; the names
// (rows r0..r1 of chunk n, node (j, a), G at a local row) are chunk_cpu.h's.
// Every exp is taken in double of a difference of G values (as on the cpu)
// and rounded to T once; products accumulate in T.
//
// Kernels take the sequence from the job/node/sequence tables of GpuProblem
// and the head from blockIdx.y (or a flattened index). Block-uniform early
// returns happen before any barrier.
#pragma once
#include "core/cuda_launch.cuh"
#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla::gpu {
namespace {

using cuda::kThreads;

// ---- positions, chunks, tree ----

__device__ __forceinline__ int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
__device__ __forceinline__ int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
__device__ __forceinline__ int bit_len(int64_t x) { return x == 0 ? 0 : 64 - __clzll(static_cast<long long>(x)); }
__device__ __forceinline__ int level_of(int64_t t, int64_t s) { return bit_len(t ^ s); }

__device__ __forceinline__ int64_t first_row(const GpuSeq& s, int64_t n, int64_t C) { return imax(n * C - s.pos, 0); }
__device__ __forceinline__ int64_t end_row(const GpuSeq& s, int64_t n, int64_t C) {
  return imin((n + 1) * C - s.pos, s.len);
}
// Local row of the last position of node (j, a) (RangeTree::last_row).
__device__ __forceinline__ int64_t node_last_row(const GpuSeq& s, int j, int64_t a, int64_t C) {
  return ((a + 1) << j) * C - 1 - s.pos;
}
__device__ __forceinline__ int tree_levels(const GpuSeq& s) {
  int j = 0;
  while (j < 62 && (s.n1 >> j) - (s.n0 >> j) > 0) ++j;
  return j;
}
// Row of node (j, a) in the node table (levels listed in order, a ascending).
__device__ __forceinline__ int64_t node_index(const GpuSeq& s, int j, int64_t a) {
  int64_t off = s.node_off;
  for (int i = 0; i < j; ++i) off += (s.n1 >> i) - (s.n0 >> i);
  return off + (a - (s.n0 >> j));
}
// Whether chunk n reads node (jb, (n >> jb) - 1) (RangeTree::for_each_read).
__device__ __forceinline__ bool reads_node(const GpuSeq& s, int64_t n, int jb) {
  return jb < 62 && ((n >> jb) & 1) && (n >> jb) - 1 >= (s.n0 >> jb);
}

// ---- rows of one (sequence, head) ----

template <class T>
struct HeadRows {
  const T *q, *k, *v, *ls;
  int64_t sqk, sv, sls;
  __device__ const T* qr(int64_t i) const { return q + i * sqk; }
  __device__ const T* kr(int64_t i) const { return k + i * sqk; }
  __device__ const T* vr(int64_t i) const { return v + i * sv; }
  __device__ T lam(int64_t i, int l) const { return ls ? ls[i * sls + l] : T(1); }
};

// v-shaped rows ([B,T,H,V]) like v itself: v, o, dout, dv share the layout.
template <class T>
__device__ __forceinline__ HeadRows<T> head_rows(const GpuProblem& p, const GpuSeq& s, int64_t h, const T* q,
                                                 const T* k, const T* v, const T* ls) {
  const int64_t grp = h / (p.H / p.G);
  HeadRows<T> r;
  r.sqk = p.G * p.K;
  r.sv = p.H * p.V;
  r.sls = p.H * p.L;
  r.q = q + s.row0 * r.sqk + grp * p.K;
  r.k = k + s.row0 * r.sqk + grp * p.K;
  r.v = v + s.row0 * r.sv + h * p.V;
  r.ls = ls ? ls + s.row0 * r.sls + h * p.L : nullptr;
  return r;
}

__device__ __forceinline__ double G_at(const double* Gd, const GpuProblem& p, const GpuSeq& s, int64_t h, int64_t r) {
  return Gd[(s.row0 + r) * p.H + h];
}
template <class T>
__device__ __forceinline__ T exp_t(double x) {
  return static_cast<T>(exp(x));
}

// ---- small products (K x V matrices row-major) ----

template <class T>
__device__ __forceinline__ T dot(const T* a, const T* b, int64_t n) {
  T acc = 0;
  for (int64_t x = 0; x < n; ++x) acc += a[x] * b[x];
  return acc;
}
// sum_x q[x] R[x, y]
template <class T>
__device__ __forceinline__ T dot_col(const T* q, const T* R, int64_t K, int64_t V, int64_t y) {
  T acc = 0;
  for (int64_t x = 0; x < K; ++x) acc += q[x] * R[x * V + y];
  return acc;
}
// sum_y R[x, y] d[y]
template <class T>
__device__ __forceinline__ T dot_row(const T* R, int64_t x, const T* d, int64_t V) {
  return dot(R + x * V, d, V);
}
// q^T R d
template <class T>
__device__ __forceinline__ T bilinear(const T* q, const T* R, const T* d, int64_t K, int64_t V) {
  T acc = 0;
  for (int64_t x = 0; x < K; ++x) acc += q[x] * dot_row(R, x, d, V);
  return acc;
}

// ---- block reductions (blockDim.x a multiple of 32) ----

// Inclusive scan in double of load(i) over i = 0..n-1 (reverse: from n-1
// down), starting from init; store(i, prefix). Any n, also n < 32.
template <class Load, class Store>
__device__ void block_scan(int64_t n, double init, bool reverse, Load load, Store store) {
  __shared__ double warp_tot[32];
  __shared__ double carry;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  if (threadIdx.x == 0) carry = init;
  __syncthreads();
  for (int64_t base = 0; base < n; base += blockDim.x) {
    const int64_t k = base + threadIdx.x;
    const int64_t i = reverse ? n - 1 - k : k;
    double x = k < n ? load(i) : 0.0;
    for (int o = 1; o < 32; o <<= 1) {
      const double y = __shfl_up_sync(0xffffffffu, x, o);
      if (lane >= o) x += y;
    }
    if (lane == 31) warp_tot[warp] = x;
    __syncthreads();
    if (warp == 0) {
      double w = lane < nwarps ? warp_tot[lane] : 0.0;
      for (int o = 1; o < 32; o <<= 1) {
        const double y = __shfl_up_sync(0xffffffffu, w, o);
        if (lane >= o) w += y;
      }
      if (lane < nwarps) warp_tot[lane] = w;
    }
    __syncthreads();
    x += carry + (warp > 0 ? warp_tot[warp - 1] : 0.0);
    if (k < n) store(i, x);
    __syncthreads();  // everyone has read carry and warp_tot
    if (threadIdx.x == blockDim.x - 1) carry = x;
    __syncthreads();
  }
}

// Sum over the block, returned to every thread.
__device__ double block_sum(double x) {
  __shared__ double part[32];
  __shared__ double total;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
  if (lane == 0) part[warp] = x;
  __syncthreads();
  if (warp == 0) {
    double w = lane < nwarps ? part[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) w += __shfl_down_sync(0xffffffffu, w, o);
    if (lane == 0) total = w;
  }
  __syncthreads();
  return total;
}

// ---- kernels shared by both ops ----

// Gd = G per row: one block per (sequence, head); grid (n_seqs, H).
template <class T>
__global__ void cumdecay_kernel(GpuProblem p, const T* g, double* Gd) {
  const GpuSeq s = p.seqs[blockIdx.x];
  const int64_t h = blockIdx.y;
  block_scan(
      s.len, 0.0, false, [&](int64_t i) { return static_cast<double>(g[(s.row0 + i) * p.H + h]); },
      [&](int64_t i, double x) { Gd[(s.row0 + i) * p.H + h] = x; });
}

// Per-chunk outer products, one block per (chunk job, head, K*V slice):
//   out = sum_{i in chunk} w_i a_i b_i^T   (K x V)
// state mode: a = k, b = v, w_i = exp(G_e - G_i) (e = the chunk's last row),
//   the chunk state U(n), for n < n1; into tree level 0 or the job's slot.
// read-gradient mode (scalar decay): a = q, b = dout, w_i = exp(G_i - G_b)
//   (b = the row before the chunk), for n > n0; into the job's slot.
enum class OuterMode { state, read_grad };

template <class T>
__global__ void chunk_outer_kernel(GpuProblem p, const T* a_base, const T* b_base, const double* Gd, T* out,
                                   OuterMode mode, bool to_tree) {
  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n, KV = p.K * p.V;
  if (mode == OuterMode::state && n >= s.n1) return;
  if (mode == OuterMode::read_grad && n <= s.n0) return;
  const int64_t r0 = first_row(s, n, p.C), r1 = end_row(s, n, p.C);
  const HeadRows<T> hr = head_rows(p, s, h, a_base, a_base, b_base, static_cast<const T*>(nullptr));
  const int64_t e = blockIdx.z * int64_t(blockDim.x) + threadIdx.x, x = e / p.V, y = e % p.V;
  const double Gref = mode == OuterMode::state ? G_at(Gd, p, s, h, r1 - 1) : G_at(Gd, p, s, h, r0 - 1);
  __shared__ T w[kThreads];
  T acc = 0;
  for (int64_t t0 = r0; t0 < r1; t0 += blockDim.x) {
    const int64_t nt = imin(blockDim.x, r1 - t0);
    if (threadIdx.x < nt) {
      const double Gi = G_at(Gd, p, s, h, t0 + threadIdx.x);
      w[threadIdx.x] = exp_t<T>(mode == OuterMode::state ? Gref - Gi : Gi - Gref);
    }
    __syncthreads();
    if (e < KV)
      for (int64_t t = 0; t < nt; ++t) acc += (w[t] * hr.qr(t0 + t)[x]) * hr.vr(t0 + t)[y];
    __syncthreads();
  }
  if (e >= KV) return;
  const int64_t slot = to_tree ? node_index(s, 0, n) : int64_t(blockIdx.x);
  out[(slot * p.H + h) * KV + e] = acc;
}

// The chunk outputs, one block per (chunk job, head, tile of tq query rows):
// intra-chunk masked scores A (tq x nr, shared memory) times V, plus the
// earlier sources: the tree nodes and the initial state (log-linear), or the
// running state before the chunk (scalar decay, f.ls == null).
template <class T>
__global__ void chunk_forward_kernel(GpuProblem p, GpuForward<T> f, int tq) {
  extern __shared__ __align__(16) unsigned char lla_smem[];
  T* A = reinterpret_cast<T*>(lla_smem);
  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n, K = p.K, V = p.V, KV = K * V;
  const int64_t r0 = first_row(s, n, p.C), r1 = end_row(s, n, p.C), nr = r1 - r0;
  const int64_t ti0 = r0 + int64_t(blockIdx.z) * tq;
  if (ti0 >= r1) return;
  const int64_t tn = imin(tq, r1 - ti0);
  const bool scalar = f.ls == nullptr;
  const HeadRows<T> hr = head_rows(p, s, h, f.q, f.k, f.v, f.ls);

  for (int64_t e = threadIdx.x; e < tn * nr; e += blockDim.x) {
    const int64_t i = ti0 + e / nr, j = r0 + e % nr;
    T a = 0;
    if (j <= i) {
      const T lam = hr.lam(i, level_of(s.pos + i, s.pos + j));
      a = dot(hr.qr(i), hr.kr(j), K) * (lam * exp_t<T>(G_at(f.Gd, p, s, h, i) - G_at(f.Gd, p, s, h, j)));
    }
    A[e] = a;
  }
  __syncthreads();

  const int64_t state_off = (job.seq * p.H + h) * p.L * KV;
  const bool has_state = !scalar && f.state_in && s.pos > 0;
  for (int64_t e = threadIdx.x; e < tn * V; e += blockDim.x) {
    const int64_t il = e / V, y = e % V, i = ti0 + il;
    const T* qi = hr.qr(i);
    T acc = 0;
    for (int64_t j = r0; j <= i; ++j) acc += A[il * nr + (j - r0)] * hr.vr(j)[y];
    const double Gi = G_at(f.Gd, p, s, h, i);
    if (scalar) {
      if (n > s.n0) {
        const T* S = f.nodes + (int64_t(blockIdx.x) * p.H + h) * KV;
        acc += exp_t<T>(Gi - G_at(f.Gd, p, s, h, r0 - 1)) * dot_col(qi, S, K, V, y);
      }
    } else {
      for (int jb = 0; (n >> jb) != 0; ++jb) {
        if (!reads_node(s, n, jb)) continue;
        const int64_t a = (n >> jb) - 1;
        const T* R = f.nodes + (node_index(s, jb, a) * p.H + h) * KV;
        const double Ge = G_at(f.Gd, p, s, h, node_last_row(s, jb, a, p.C));
        acc += (hr.lam(i, p.c + jb + 1) * exp_t<T>(Gi - Ge)) * dot_col(qi, R, K, V, y);
      }
      if (has_state) {
        const int m = level_of(s.pos + i, s.pos - 1);
        const T E = exp_t<T>(Gi);
        acc += (hr.lam(i, m) * E) * dot_col(qi, f.prefix + state_off + m * KV, K, V, y);
        for (int l = m + 1; l < p.L; ++l) acc += (hr.lam(i, l) * E) * dot_col(qi, f.state_in + state_off + l * KV, K, V, y);
      }
    }
    f.o[(s.row0 + i) * p.H * V + h * V + y] = acc;
  }
}

// Backward, query side: per (chunk job, head, tile of tq rows) the per-head
// dq and (log-linear) dlevel_scales of those rows, complete. Shared memory:
// D = dA o W and (log-linear) Z = dA o Sraw o exp, both tq x nr.
template <class T>
__global__ void chunk_bwd_rows_kernel(GpuProblem p, GpuBackward<T> b, int tq) {
  extern __shared__ __align__(16) unsigned char lla_smem[];
  const GpuForward<T>& f = b.fwd;
  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n, K = p.K, V = p.V, KV = K * V, L = p.L;
  const int64_t r0 = first_row(s, n, p.C), r1 = end_row(s, n, p.C), nr = r1 - r0;
  const int64_t ti0 = r0 + int64_t(blockIdx.z) * tq;
  if (ti0 >= r1) return;
  const int64_t tn = imin(tq, r1 - ti0);
  T* D = reinterpret_cast<T*>(lla_smem);
  T* Z = D + int64_t(tq) * p.C;
  const bool scalar = f.ls == nullptr;
  const HeadRows<T> hr = head_rows(p, s, h, f.q, f.k, f.v, f.ls);
  const T* dO = b.dout + s.row0 * p.H * V + h * V;  // row i at dO + i * H * V
  const int64_t sv = p.H * V;

  for (int64_t e = threadIdx.x; e < tn * nr; e += blockDim.x) {
    const int64_t i = ti0 + e / nr, j = r0 + e % nr;
    T d = 0, z = 0;
    if (j <= i) {
      const T dA = dot(dO + i * sv, hr.vr(j), V);
      const T ex = exp_t<T>(G_at(f.Gd, p, s, h, i) - G_at(f.Gd, p, s, h, j));
      d = dA * (hr.lam(i, level_of(s.pos + i, s.pos + j)) * ex);
      if (!scalar) z = dA * dot(hr.qr(i), hr.kr(j), K) * ex;
    }
    D[e] = d;
    Z[e] = z;
  }
  __syncthreads();

  const int64_t state_off = (job.seq * p.H + h) * L * KV;
  const bool has_state = !scalar && f.state_in && s.pos > 0;
  for (int64_t e = threadIdx.x; e < tn * K; e += blockDim.x) {
    const int64_t il = e / K, x = e % K, i = ti0 + il;
    const T* dOi = dO + i * sv;
    T acc = 0;
    for (int64_t j = r0; j <= i; ++j) acc += D[il * nr + (j - r0)] * hr.kr(j)[x];
    const double Gi = G_at(f.Gd, p, s, h, i);
    if (scalar) {
      if (n > s.n0) {
        const T* S = f.nodes + (int64_t(blockIdx.x) * p.H + h) * KV;
        acc += exp_t<T>(Gi - G_at(f.Gd, p, s, h, r0 - 1)) * dot_row(S, x, dOi, V);
      }
    } else {
      for (int jb = 0; (n >> jb) != 0; ++jb) {
        if (!reads_node(s, n, jb)) continue;
        const int64_t a = (n >> jb) - 1;
        const T* R = f.nodes + (node_index(s, jb, a) * p.H + h) * KV;
        const double Ge = G_at(f.Gd, p, s, h, node_last_row(s, jb, a, p.C));
        acc += (hr.lam(i, p.c + jb + 1) * exp_t<T>(Gi - Ge)) * dot_row(R, x, dOi, V);
      }
      if (has_state) {
        const int m = level_of(s.pos + i, s.pos - 1);
        const T E = exp_t<T>(Gi);
        acc += (hr.lam(i, m) * E) * dot_row(f.prefix + state_off + m * KV, x, dOi, V);
        for (int l = m + 1; l < L; ++l) acc += (hr.lam(i, l) * E) * dot_row(f.state_in + state_off + l * KV, x, dOi, V);
      }
    }
    b.dq_head[((s.row0 + i) * p.H + h) * K + x] = acc;
  }
  if (scalar) return;

  // dlambda_i[l]: the intra-chunk pairs at level l (l <= c), the node read at
  // level l (l > c), and the initial state's level l.
  for (int64_t e = threadIdx.x; e < tn * L; e += blockDim.x) {
    const int64_t il = e / L, i = ti0 + il;
    const int l = static_cast<int>(e % L);
    const T* qi = hr.qr(i);
    const T* dOi = dO + i * sv;
    const double Gi = G_at(f.Gd, p, s, h, i);
    T acc = 0;
    if (l <= p.c) {
      for (int64_t j = r0; j <= i; ++j)
        if (level_of(s.pos + i, s.pos + j) == l) acc += Z[il * nr + (j - r0)];
    } else {
      const int jb = l - p.c - 1;
      if (reads_node(s, n, jb)) {
        const int64_t a = (n >> jb) - 1;
        const T* R = f.nodes + (node_index(s, jb, a) * p.H + h) * KV;
        const double Ge = G_at(f.Gd, p, s, h, node_last_row(s, jb, a, p.C));
        acc += exp_t<T>(Gi - Ge) * bilinear(qi, R, dOi, K, V);
      }
    }
    if (has_state) {
      const int m = level_of(s.pos + i, s.pos - 1);
      if (l == m) acc += exp_t<T>(Gi) * bilinear(qi, f.prefix + state_off + m * KV, dOi, K, V);
      else if (l > m) acc += exp_t<T>(Gi) * bilinear(qi, f.state_in + state_off + l * KV, dOi, K, V);
    }
    b.dls[((s.row0 + i) * p.H + h) * L + l] = acc;
  }
}

// Backward, key side: per (chunk job, head, tile of tk source rows) the
// per-head dk and dv of those rows, complete: the intra-chunk pairs
// (transposed tiles A = Sraw o W and D = dA o W in shared memory), the
// chunk's own state gradient dU (tree level 0, or the scalar-decay state
// update) and, in the last chunk, the final state's gradient.
template <class T>
__global__ void chunk_bwd_cols_kernel(GpuProblem p, GpuBackward<T> b, int tk) {
  extern __shared__ __align__(16) unsigned char lla_smem[];
  const GpuForward<T>& f = b.fwd;
  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n, K = p.K, V = p.V, KV = K * V;
  const int64_t r0 = first_row(s, n, p.C), r1 = end_row(s, n, p.C), nr = r1 - r0;
  const int64_t tj0 = r0 + int64_t(blockIdx.z) * tk;
  if (tj0 >= r1) return;
  const int64_t tn = imin(tk, r1 - tj0);
  T* A = reinterpret_cast<T*>(lla_smem);
  T* D = A + int64_t(tk) * p.C;
  const bool scalar = f.ls == nullptr;
  const HeadRows<T> hr = head_rows(p, s, h, f.q, f.k, f.v, f.ls);
  const T* dO = b.dout + s.row0 * p.H * V + h * V;
  const int64_t sv = p.H * V;

  for (int64_t e = threadIdx.x; e < tn * nr; e += blockDim.x) {
    const int64_t j = tj0 + e / nr, i = r0 + e % nr;
    T a = 0, d = 0;
    if (i >= j) {
      const T W = hr.lam(i, level_of(s.pos + i, s.pos + j)) *
                  exp_t<T>(G_at(f.Gd, p, s, h, i) - G_at(f.Gd, p, s, h, j));
      a = dot(hr.qr(i), hr.kr(j), K) * W;
      d = dot(dO + i * sv, hr.vr(j), V) * W;
    }
    A[e] = a;
    D[e] = d;
  }
  __syncthreads();

  const T* dU = nullptr;
  double Ge = 0;
  if (n < s.n1) {
    const int64_t slot = scalar ? int64_t(blockIdx.x) : node_index(s, 0, n);
    dU = b.dnodes + (slot * p.H + h) * KV;
    Ge = G_at(f.Gd, p, s, h, r1 - 1);
  }
  const T* dF = nullptr;
  const double Gl = G_at(f.Gd, p, s, h, s.len - 1);
  const int64_t c_abs = s.pos + s.len - 1;
  if (n == s.n1 && b.dstate_out) dF = b.dstate_out + (job.seq * p.H + h) * p.L * KV;

  for (int64_t e = threadIdx.x; e < tn * V; e += blockDim.x) {
    const int64_t jl = e / V, y = e % V, j = tj0 + jl;
    T acc = 0;
    for (int64_t i = j; i < r1; ++i) acc += A[jl * nr + (i - r0)] * dO[i * sv + y];
    const double Gj = G_at(f.Gd, p, s, h, j);
    if (dU) acc += exp_t<T>(Ge - Gj) * dot_col(hr.kr(j), dU, K, V, y);
    if (dF) {
      const int m = level_of(s.pos + j, c_abs);
      acc += exp_t<T>(Gl - Gj) * dot_col(hr.kr(j), dF + m * KV, K, V, y);
    }
    b.dv[(s.row0 + j) * sv + h * V + y] = acc;
  }
  for (int64_t e = threadIdx.x; e < tn * K; e += blockDim.x) {
    const int64_t jl = e / K, x = e % K, j = tj0 + jl;
    T acc = 0;
    for (int64_t i = j; i < r1; ++i) acc += D[jl * nr + (i - r0)] * hr.qr(i)[x];
    const double Gj = G_at(f.Gd, p, s, h, j);
    if (dU) acc += exp_t<T>(Ge - Gj) * dot_row(dU, x, hr.vr(j), V);
    if (dF) {
      const int m = level_of(s.pos + j, c_abs);
      acc += exp_t<T>(Gl - Gj) * dot_row(dF + m * KV, x, hr.vr(j), V);
    }
    b.dk_head[((s.row0 + j) * p.H + h) * K + x] = acc;
  }
}

// dg: per (sequence, head) block, dG_t = do_t . o_t - v_t . dv_t (plus
// <dF, F> on the last row when the final state has a gradient), then the
// reverse cumulative sum, in double.
template <class T>
__global__ void dg_kernel(GpuProblem p, GpuBackward<T> b) {
  const int64_t seq = blockIdx.x, h = blockIdx.y, V = p.V;
  const GpuSeq s = p.seqs[seq];
  double last = 0;
  if (b.dstate_out) {
    const int64_t n = p.L * p.K * V, off = (seq * p.H + h) * n;
    double part = 0;
    for (int64_t e = threadIdx.x; e < n; e += blockDim.x)
      part += static_cast<double>(b.dstate_out[off + e]) * static_cast<double>(b.fwd.state_out[off + e]);
    last = block_sum(part);
  }
  const int64_t sv = p.H * V;
  block_scan(
      s.len, last, true,
      [&](int64_t i) {
        const int64_t row = (s.row0 + i) * sv + h * V;
        double acc = 0;
        for (int64_t y = 0; y < V; ++y)
          acc += static_cast<double>(b.dout[row + y]) * b.fwd.o[row + y] -
                 static_cast<double>(b.fwd.v[row + y]) * b.dv[row + y];
        return acc;
      },
      [&](int64_t i, double x) { b.dg[(s.row0 + i) * p.H + h] = static_cast<T>(x); });
}

// dq, dk per group from the per-head rows, heads summed in order
// (deterministic, as reduce_heads_to_groups on the cpu).
template <class T>
__global__ void reduce_heads_kernel(GpuProblem p, const T* dq_head, const T* dk_head, T* dq, T* dk) {
  const int64_t total = p.rows * p.G * p.K, per = p.H / p.G;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
    const int64_t x = e % p.K, grp = (e / p.K) % p.G, r = e / (p.K * p.G);
    T sq = 0, sk = 0;
    for (int64_t hh = grp * per; hh < (grp + 1) * per; ++hh) {
      sq += dq_head[(r * p.H + hh) * p.K + x];
      sk += dk_head[(r * p.H + hh) * p.K + x];
    }
    dq[e] = sq;
    dk[e] = sk;
  }
}

// ---- launch helpers ----

// Rows per tile so that `mats` tiles of rows x C elements of T fit a 32 KiB
// shared-memory budget; the tiled kernels need at least one row.
inline int tile_rows(int64_t C, size_t elem, int mats, const char* op) {
  const size_t row_bytes = static_cast<size_t>(C) * elem * mats;
  LOGLIN_CHECK(row_bytes <= 48 * 1024,
               "[{}] chunk_size {} is too large for the CUDA path (at most {} for this dtype)", op, C,
               48 * 1024 / (elem * mats));
  const int64_t t = static_cast<int64_t>((32 * 1024) / row_bytes);
  return static_cast<int>(t < 1 ? 1 : (t > C ? C : t));
}

inline unsigned tiles(int64_t n, int64_t per) { return static_cast<unsigned>((n + per - 1) / per); }

// The last steps of both ops' backward: dg by the dG identity, then dq and dk
// summed per group.
template <class T>
void finish_backward(const GpuProblem& p, const GpuBackward<T>& b, cudaStream_t st, const char* op) {
  dg_kernel<T><<<dim3(static_cast<unsigned>(p.n_seqs), static_cast<unsigned>(p.H)), kThreads, 0, st>>>(p, b);
  LOGLIN_CUDA_LAUNCHED(op);
  reduce_heads_kernel<T><<<cuda::blocks_for(p.rows * p.G * p.K), kThreads, 0, st>>>(p, b.dq_head, b.dk_head, b.dq,
                                                                                    b.dk);
  LOGLIN_CUDA_LAUNCHED(op);
}

}  // namespace
}  // namespace loglin::lla::gpu

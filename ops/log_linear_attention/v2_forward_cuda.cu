// v2 forward of log_linear_attention (KERNELS_PLAN.md "Forward: 4 launches"):
// bf16 tensor cores through WMMA 16x16x16 (f32 accumulators), g and every
// decay in f32. Launches, independent of T:
//   F0 cumdecay_wide_kernel (v2_common.cuh): G per row in double;
//   F1 fwd_state_kernel<K, V>: U(m) = K_m^T (exp(G_e - G_i) v_i), tree level 0,
//      stored in bf16; one block (4 warps) per (chunk, head);
//   F2 fwd_tree_kernel: levels >= 1 by one Fenwick walk over the chunks per
//      (sequence, head, element), f32 partials, nodes stored in bf16;
//   F3 fwd_chunk_kernel<K, V>: outputs; one block per (chunk, head), warp w
//      owns query rows 16w .. 16w + 15 of the chunk.
// Differences from the plan: WMMA instead of raw mma.sync + ldmatrix, so S
// and P go through per-warp shared-memory scratch (O stays in accumulators);
// padded pitches (+8 bf16, +4 f32) instead of the XOR swizzle; cp.async tile
// loads without double buffering.
// Shared-memory tiles are indexed by "slot" = absolute position - n C, so
// slot xor slot == absolute xor (the level) and rows outside the sequence
// (first chunk of a continued sequence, last partial chunk) are zero-filled
// and never stored.
#include <atomic>

#include "ops/log_linear_attention/v2_common.cuh"
#include "ops/log_linear_attention/v2_forward_cuda.h"

namespace loglin::lla::v2 {
namespace {

// ---- F1: per-chunk states ----

template <int K, int V>
struct StateLayout {
  static constexpr int ldk = K + kPad, ldv = V + kPad, lds = 64 + kFPad;
  static constexpr size_t k_off = 0;
  static constexpr size_t v_off = k_off + align128(sizeof(bf) * kC * ldk);
  static constexpr size_t s_off = v_off + align128(sizeof(bf) * kC * ldv);
  static constexpr size_t bytes = s_off + align128(sizeof(float) * kWarps * 16 * lds);
};

// U(n) = sum_i k_i (exp(G_e - G_i) v_i)^T (K x V) into tree level 0, for the
// chunks n < n1 of each sequence (the last chunk is no node). Grid (n_jobs, H).
template <int K, int V>
__global__ void __launch_bounds__(kBlock) fwd_state_kernel(GpuProblem p, GpuForward<bf16, float> f, bf* nodes) {
  using Lt = StateLayout<K, V>;
  extern __shared__ __align__(128) unsigned char smem[];
  bf* Ks = reinterpret_cast<bf*>(smem + Lt::k_off);
  bf* Vs = reinterpret_cast<bf*>(smem + Lt::v_off);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float* Sw = reinterpret_cast<float*>(smem + Lt::s_off) + warp * 16 * Lt::lds;

  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n;
  if (n >= s.n1) return;  // block-uniform, before any barrier
  const ChunkSlots cs = chunk_slots(s, n);
  const int64_t grp = h / (p.H / p.G), sqk = p.G * K, sv = p.H * V;
  const bf* k = reinterpret_cast<const bf*>(f.k) + s.row0 * sqk + grp * K;
  const bf* v = reinterpret_cast<const bf*>(f.v) + s.row0 * sv + h * V;
  const double* Gd = f.Gd + s.row0 * p.H + h;  // row i at Gd[i * H]
  const double Ge = Gd[(cs.base + cs.hi - 1) * p.H];

  load_tile<K>(Ks, Lt::ldk, kC, [&](int r) -> const bf* { return cs.ok(r) ? k + (cs.base + r) * sqk : nullptr; });
  load_tile<V>(Vs, Lt::ldv, kC, [&](int r) -> const bf* { return cs.ok(r) ? v + (cs.base + r) * sv : nullptr; });
  __syncthreads();
  // V' = exp(G_e - G_i) v_i, scaled in f32 in place and rounded to bf16 once.
  constexpr int UV = V / 8;
  for (int e = threadIdx.x; e < kC * UV; e += kBlock) {
    const int r = e / UV, u = e % UV;
    if (!cs.ok(r)) continue;
    const float w = __expf(static_cast<float>(Ge - Gd[(cs.base + r) * p.H]));
    uint4 x = *reinterpret_cast<const uint4*>(Vs + r * Lt::ldv + u * 8);
    bf* xe = reinterpret_cast<bf*>(&x);
#pragma unroll
    for (int z = 0; z < 8; ++z) xe[z] = __float2bfloat16_rn(__bfloat162float(xe[z]) * w);
    *reinterpret_cast<uint4*>(Vs + r * Lt::ldv + u * 8) = x;
  }
  __syncthreads();

  // Work units of 16 rows (of K) x NB * 16 columns (of V).
  constexpr int NB = (V / 16) < 4 ? (V / 16) : 4, NCB = V / 16 / NB, NU = (K / 16) * NCB;
  bf* out = nodes + (gpu::node_index(s, 0, n) * p.H + h) * static_cast<int64_t>(K * V);
  for (int u = warp; u < NU; u += kWarps) {
    const int mi = u / NCB, nb = u % NCB;
    FragC uf[NB];
#pragma unroll
    for (int f2 = 0; f2 < NB; ++f2) wmma::fill_fragment(uf[f2], 0.0f);
#pragma unroll
    for (int kk = 0; kk < kC / 16; ++kk) {
      FragAc ka;  // A[m][x] = K_n[x][m]: column-major view of the row-major K tile
      wmma::load_matrix_sync(ka, Ks + kk * 16 * Lt::ldk + mi * 16, Lt::ldk);
#pragma unroll
      for (int f2 = 0; f2 < NB; ++f2) {
        FragB vb;
        wmma::load_matrix_sync(vb, Vs + kk * 16 * Lt::ldv + (nb * NB + f2) * 16, Lt::ldv);
        wmma::mma_sync(uf[f2], ka, vb, uf[f2]);
      }
    }
#pragma unroll
    for (int f2 = 0; f2 < NB; ++f2) wmma::store_matrix_sync(Sw + f2 * 16, uf[f2], Lt::lds, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < 16 * NB * 8; e += 32) {
      const int r = e / (NB * 8), c = 2 * (e % (NB * 8));
      *reinterpret_cast<bf2*>(out + static_cast<int64_t>(mi * 16 + r) * V + nb * NB * 16 + c) =
          __floats2bfloat162_rn(Sw[r * Lt::lds + c], Sw[r * Lt::lds + c + 1]);
    }
    __syncwarp();
  }
}

// ---- F2: the tree levels >= 1 ----

// One thread per (sequence, head, kTreeVec elements of K x V), grid
// (n_seqs * H, ceil(K V / (256 kTreeVec))): walks the chunks m = n0 .. n1 - 1
// once. stk[j] holds node (j, a) with a even (its parent waits for the right
// sibling) in f32; when chunk m completes the right child (j, a), the parent
// is exp(G_end(j, a) - G_end(j, a - 1)) stk[j] + x (x alone when the left
// sibling lies before the sequence), as v1's tree_combine_kernel. The level
// loop is unrolled so that the stack stays in registers (kMaxLevels levels).
__global__ void __launch_bounds__(kTreeThreads, 2) fwd_tree_kernel(GpuProblem p, const double* Gd_all, bf* nodes) {
  __shared__ int64_t loff[kMaxLevels];  // first table row of level j
  const int64_t seq = blockIdx.x / p.H, h = blockIdx.x % p.H;
  const GpuSeq s = p.seqs[seq];
  level_offsets(s, loff);
  const int64_t KV = p.K * p.V, e = (int64_t(blockIdx.y) * kTreeThreads + threadIdx.x) * kTreeVec;
  if (e >= KV) return;  // no barriers below
  const double* Gd = Gd_all + s.row0 * p.H + h;
  auto node = [&](int j, int64_t a) { return nodes + ((loff[j] + (a - (s.n0 >> j))) * p.H + h) * KV + e; };
  // G at the end of chunk m; a run of level j completed by chunk m ends there
  // too, so each combine needs only this value and the one saved when its
  // left sibling was pushed (gstk): one broadcast load per step, prefetched.
  auto Gchunk = [&](int64_t m) { return Gd[gpu::node_last_row(s, 0, m, kC) * p.H]; };
  Vec stk[kMaxLevels];
  double gstk[kMaxLevels];
  Vec nxt = s.n0 < s.n1 ? load_vec(node(0, s.n0)) : zero_vec();
  double gnxt = s.n0 < s.n1 ? Gchunk(s.n0) : 0.0;
  for (int64_t m = s.n0; m < s.n1; ++m) {
    Vec x = nxt;
    const double gm = gnxt;
    if (m + 1 < s.n1) {  // one ahead
      nxt = load_vec(node(0, m + 1));
      gnxt = Gchunk(m + 1);
    }
    bool pushed = false;  // a flag, not a break, so that the loop unrolls and the stacks stay in registers
#pragma unroll
    for (int j = 0; j < kMaxLevels; ++j) {
      if (pushed) continue;
      const int64_t a = m >> j;
      if (!(a & 1)) {
        stk[j] = x;
        gstk[j] = gm;
        pushed = true;
        continue;
      }
      if (a - 1 >= (s.n0 >> j)) axpy_vec(__expf(static_cast<float>(gm - gstk[j])), stk[j], x);
      if (j + 1 < kMaxLevels) store_vec(node(j + 1, a >> 1), x);
    }
  }
}

// ---- F3: outputs ----

// Budgeted for three blocks per SM at K = 128, V = 64 (<= 75 KiB): the K
// tile, each V panel and each node panel R take turns in one region; a
// warp's f32 scratch holds S, then the scaled Q rows of a node read, then O
// on its way out; the masked scores P (bf16) stay for every V panel.
template <int K, int V>
struct ChunkLayout {
  static constexpr int PW = V < 64 ? V : 64;  // V panel width
  static constexpr int NP = V / PW;           // panels
  static constexpr int ldq = K + kPad;        // Q and K tiles [64][K], scaled Q rows [16][K]
  static constexpr int ldv = PW + kPad;       // V panel [64][PW], node panel [K][PW]
  static constexpr int ldp = kC + kPad;       // P per warp [16][64] bf16
  static constexpr int lds = 64 + kFPad;      // S / O per warp [16][64] f32
  static constexpr size_t kvr_bytes = sizeof(bf) * (kC * ldq > K * ldv ? (kC * ldq > kC * ldv ? kC * ldq : kC * ldv)
                                                                       : (K * ldv > kC * ldv ? K * ldv : kC * ldv));
  static constexpr size_t scratch_warp = sizeof(float) * 16 * lds > sizeof(bf) * 16 * ldq ? sizeof(float) * 16 * lds
                                                                                          : sizeof(bf) * 16 * ldq;
  static constexpr size_t q_off = 0;
  static constexpr size_t kvr_off = q_off + align128(sizeof(bf) * kC * ldq);
  static constexpr size_t x_off = kvr_off + align128(kvr_bytes);
  static constexpr size_t p_off = x_off + align128(kWarps * scratch_warp);
  static constexpr size_t gd_off = p_off + align128(sizeof(bf) * kWarps * 16 * ldp);
  static constexpr size_t g_off = gd_off + align128(sizeof(double) * kC);
  static constexpr size_t lam_off = g_off + align128(sizeof(float) * kC);
  static constexpr size_t w_off = lam_off + align128(sizeof(float) * kC * 8);
  static constexpr size_t bytes = w_off + align128(sizeof(float) * kC);
  static_assert(V % PW == 0 && PW % 16 == 0 && K % 16 == 0, "head dims");
  static_assert(scratch_warp % 32 == 0, "WMMA needs 32-byte aligned scratch");
};

// o for the rows of one chunk job and head; grid (n_jobs, H). O stays in
// WMMA accumulators for a V panel; a node read adds (diag(w) Q_w) R with the
// row weights w_t = lambda_t[c + j + 1] exp(G_t - G_end) folded into a bf16
// copy of the warp's Q rows.
template <int K, int V>
__global__ void __launch_bounds__(kBlock) fwd_chunk_kernel(GpuProblem p, GpuForward<bf16, float> f, const bf* nodes) {
  using Lt = ChunkLayout<K, V>;
  constexpr int PW = Lt::PW, NF = PW / 16;
  extern __shared__ __align__(128) unsigned char smem[];
  bf* Qs = reinterpret_cast<bf*>(smem + Lt::q_off);
  bf* KVR = reinterpret_cast<bf*>(smem + Lt::kvr_off);  // the K tile, then V panels and node panels
  double* GdS = reinterpret_cast<double*>(smem + Lt::gd_off);  // G per slot (double)
  float* Gs = reinterpret_cast<float*>(smem + Lt::g_off);      // G per slot relative to the first valid row
  float* lamS = reinterpret_cast<float*>(smem + Lt::lam_off);  // [64][8] lambda levels 0..7
  float* Wrow = reinterpret_cast<float*>(smem + Lt::w_off);    // per slot weight of the current node read
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  float* Xw = reinterpret_cast<float*>(smem + Lt::x_off + warp * Lt::scratch_warp);  // S, then O out
  bf* SQw = reinterpret_cast<bf*>(smem + Lt::x_off + warp * Lt::scratch_warp);      // scaled Q rows (same bytes)
  bf* Pw = reinterpret_cast<bf*>(smem + Lt::p_off) + warp * 16 * Lt::ldp;
  const bf* Qw = Qs + warp * 16 * Lt::ldq;

  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n;
  const ChunkSlots cs = chunk_slots(s, n);
  const int64_t grp = h / (p.H / p.G), sqk = p.G * K, sv = p.H * V, sls = p.H * p.L;
  const bf* q = reinterpret_cast<const bf*>(f.q) + s.row0 * sqk + grp * K;
  const bf* k = reinterpret_cast<const bf*>(f.k) + s.row0 * sqk + grp * K;
  const bf* v = reinterpret_cast<const bf*>(f.v) + s.row0 * sv + h * V;
  const bf* ls = reinterpret_cast<const bf*>(f.ls) + s.row0 * sls + h * p.L;
  bf* o = reinterpret_cast<bf*>(f.o) + s.row0 * sv + h * V;
  const double* Gd = f.Gd + s.row0 * p.H + h;

  load_tile<K>(Qs, Lt::ldq, kC, [&](int r) -> const bf* { return cs.ok(r) ? q + (cs.base + r) * sqk : nullptr; });
  load_tile<K>(KVR, Lt::ldq, kC, [&](int r) -> const bf* { return cs.ok(r) ? k + (cs.base + r) * sqk : nullptr; });
  if (tid < kC) {
    const int r = tid;
    const bool ok = cs.ok(r);
    const double gd = ok ? Gd[(cs.base + r) * p.H] : 0.0;
    GdS[r] = gd;
    Gs[r] = ok ? static_cast<float>(gd - Gd[(cs.base + cs.lo) * p.H]) : 0.0f;
#pragma unroll
    for (int l = 0; l < 8; ++l)
      lamS[r * 8 + l] = ok && l < p.L ? __bfloat162float(ls[(cs.base + r) * sls + l]) : 0.0f;
  }
  __syncthreads();

  // 1. S = Q_w K_n^T (16 x 64); key tiles past the warp's rows are masked anyway.
  {
    FragC sf[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) wmma::fill_fragment(sf[i], 0.0f);
#pragma unroll
    for (int kk = 0; kk < K / 16; ++kk) {
      FragA qa;
      wmma::load_matrix_sync(qa, Qw + kk * 16, Lt::ldq);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        if (i > warp) break;  // warp-uniform
        FragBc kb;            // B[x][s] = K_n[s][x]: column-major view of the K tile
        wmma::load_matrix_sync(kb, KVR + i * 16 * Lt::ldq + kk * 16, Lt::ldq);
        wmma::mma_sync(sf[i], qa, kb, sf[i]);
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
      if (i <= warp) wmma::store_matrix_sync(Xw + i * 16, sf[i], Lt::lds, wmma::mem_row_major);
  }
  __syncwarp();

  // 2. P = S o W (W[t, s] = lambda_t[level] exp(G_t - G_s), s <= t), bf16.
  for (int e = lane; e < 16 * kC; e += 32) {
    const int r = e >> 6, c = e & 63, t = warp * 16 + r;
    float val = 0.0f;
    if (c <= t && t < cs.hi && c >= cs.lo) {
      const int lev = 32 - __clz(t ^ c);
      val = Xw[r * Lt::lds + c] * lamS[t * 8 + lev] * __expf(Gs[t] - Gs[c]);
    }
    Pw[r * Lt::ldp + c] = __float2bfloat16_rn(val);
  }
  __syncwarp();

  for (int pv = 0; pv < Lt::NP; ++pv) {
    __syncthreads();  // everyone is done with the region (K tile, or the previous panel's R)
    load_tile<PW>(KVR, Lt::ldv, kC,
                  [&](int r) -> const bf* { return cs.ok(r) ? v + (cs.base + r) * sv + pv * PW : nullptr; });
    __syncthreads();

    // 3. O = P V_n (16 x PW), in registers.
    FragC of[NF];
#pragma unroll
    for (int f2 = 0; f2 < NF; ++f2) wmma::fill_fragment(of[f2], 0.0f);
#pragma unroll
    for (int kk = 0; kk < kC / 16; ++kk) {
      if (kk > warp) break;  // P is zero there (causal)
      FragA pa;
      wmma::load_matrix_sync(pa, Pw + kk * 16, Lt::ldp);
#pragma unroll
      for (int f2 = 0; f2 < NF; ++f2) {
        FragB vb;
        wmma::load_matrix_sync(vb, KVR + kk * 16 * Lt::ldv + f2 * 16, Lt::ldv);
        wmma::mma_sync(of[f2], pa, vb, of[f2]);
      }
    }

    // 4. Node reads: O += (diag(w) Q_w) R.
    for (int jb = 0; (n >> jb) != 0; ++jb) {
      if (!gpu::reads_node(s, n, jb)) continue;  // block-uniform
      const int64_t a = (n >> jb) - 1;
      const bf* R = nodes + (gpu::node_index(s, jb, a) * p.H + h) * static_cast<int64_t>(K * V) + pv * PW;
      const double Ge = Gd[gpu::node_last_row(s, jb, a, kC) * p.H];
      __syncthreads();  // the region and Wrow of the previous read (or V) are consumed
      load_tile<PW>(KVR, Lt::ldv, K, [&](int x) -> const bf* { return R + static_cast<int64_t>(x) * V; });
      if (tid < kC) {
        const int r = tid;
        Wrow[r] = cs.ok(r) ? __bfloat162float(ls[(cs.base + r) * sls + p.c + jb + 1]) *
                                 __expf(static_cast<float>(GdS[r] - Ge))
                           : 0.0f;
      }
      __syncthreads();
      for (int e = lane; e < 16 * K / 2; e += 32) {
        const int r = e / (K / 2), x = 2 * (e % (K / 2));
        const float w = Wrow[warp * 16 + r];
        const float2 qv = __bfloat1622float2(*reinterpret_cast<const bf2*>(Qw + r * Lt::ldq + x));
        *reinterpret_cast<bf2*>(SQw + r * Lt::ldq + x) = __floats2bfloat162_rn(w * qv.x, w * qv.y);
      }
      __syncwarp();
#pragma unroll
      for (int kk = 0; kk < K / 16; ++kk) {
        FragA qa;
        wmma::load_matrix_sync(qa, SQw + kk * 16, Lt::ldq);
#pragma unroll
        for (int f2 = 0; f2 < NF; ++f2) {
          FragB rb;
          wmma::load_matrix_sync(rb, KVR + kk * 16 * Lt::ldv + f2 * 16, Lt::ldv);
          wmma::mma_sync(of[f2], qa, rb, of[f2]);
        }
      }
      __syncwarp();  // SQw is rewritten by the next read
    }

    // 5. Store the valid rows of the panel through the warp's scratch.
#pragma unroll
    for (int f2 = 0; f2 < NF; ++f2) wmma::store_matrix_sync(Xw + f2 * 16, of[f2], Lt::lds, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < 16 * PW / 2; e += 32) {
      const int r = e / (PW / 2), c = 2 * (e % (PW / 2)), t = warp * 16 + r;
      if (cs.ok(t))
        *reinterpret_cast<bf2*>(o + (cs.base + t) * sv + pv * PW + c) =
            __floats2bfloat162_rn(Xw[r * Lt::lds + c], Xw[r * Lt::lds + c + 1]);
    }
    __syncwarp();
  }
}

// ---- launchers ----

// F1 and F2: tree level 0 (the chunk states) and the levels above it.
template <int K, int V>
void tree_kv(const GpuProblem& p, const GpuForward<bf16, float>& f, bf* nodes, cudaStream_t st) {
  if (p.n_nodes == 0) return;
  constexpr size_t s1 = StateLayout<K, V>::bytes;
  allow_smem(fwd_state_kernel<K, V>, s1);
  fwd_state_kernel<K, V><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H)), kBlock, s1, st>>>(
      p, f, nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
  const int64_t per_block = int64_t(kTreeThreads) * kTreeVec, KV = int64_t(K) * V;
  fwd_tree_kernel<<<dim3(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>((KV + per_block - 1) / per_block)),
                    kTreeThreads, 0, st>>>(p, f.Gd, nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <int K, int V>
void forward_kv(const GpuProblem& p, const GpuForward<bf16, float>& f, bf* nodes, cudaStream_t st) {
  tree_kv<K, V>(p, f, nodes, st);
  constexpr size_t s3 = ChunkLayout<K, V>::bytes;
  allow_smem(fwd_chunk_kernel<K, V>, s3);
  fwd_chunk_kernel<K, V><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H)), kBlock, s3, st>>>(
      p, f, nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <int K>
void forward_k(const GpuProblem& p, const GpuForward<bf16, float>& f, bf* nodes, cudaStream_t st) {
  switch (p.V) {
    case 32: return forward_kv<K, 32>(p, f, nodes, st);
    case 64: return forward_kv<K, 64>(p, f, nodes, st);
    case 128: return forward_kv<K, 128>(p, f, nodes, st);
    case 256: return forward_kv<K, 256>(p, f, nodes, st);
    default: LOGLIN_FAIL("[{}] no kernel for V = {}", kOp, p.V);
  }
}

// F0, F1, F2, F3.
void run_forward(const GpuProblem& p, const GpuForward<bf16, float>& f, bf16* nodes) {
  LOGLIN_CHECK(forward_shape_ok(p.K, p.V, p.C), "[{}] no kernel for K = {}, V = {}, chunk {}", kOp, p.K, p.V, p.C);
  LOGLIN_CHECK(!f.state_in && !f.state_out, "[{}] states are not supported by v2 yet", kOp);
  LOGLIN_CHECK(p.max_levels <= kMaxLevels, "[{}] at most {} tree levels (positions below {}), got {}", kOp, kMaxLevels,
               int64_t(kC) << kMaxLevels, p.max_levels);
  cudaStream_t st = cuda::stream(p.device);
  cumdecay_wide_kernel<<<dim3(static_cast<unsigned>(p.n_seqs), static_cast<unsigned>(p.H)), kScanThreads, 0, st>>>(
      p, f.g, f.Gd);
  LOGLIN_CUDA_LAUNCHED(kOp);
  bf* nd = reinterpret_cast<bf*>(nodes);
  switch (p.K) {
    case 32: return forward_k<32>(p, f, nd, st);
    case 64: return forward_k<64>(p, f, nd, st);
    case 128: return forward_k<128>(p, f, nd, st);
    case 256: return forward_k<256>(p, f, nd, st);
    default: LOGLIN_FAIL("[{}] no kernel for K = {}", kOp, p.K);
  }
}

bool aligned16(const void* x) { return (reinterpret_cast<uintptr_t>(x) & 15u) == 0; }

__global__ void bf16_to_f32_kernel(const bf* src, float* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = __bfloat162float(src[i]);
}
__global__ void f32_to_bf16_kernel(const float* src, bf* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16_rn(src[i]);
}

}  // namespace

bool forward_shape_ok(int64_t K, int64_t V, int64_t C) {
  auto dim_ok = [](int64_t d) { return d == 32 || d == 64 || d == 128 || d == 256; };
  return C == kC && dim_ok(K) && dim_ok(V);
}

bool device_ok(int device) {
  static std::atomic<int> cache[64] = {};  // 0 unknown, 1 yes, 2 no
  if (device < 0 || device >= 64) return false;
  int v = cache[device].load();
  if (v == 0) {
    int major = 0;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    v = major >= 8 ? 1 : 2;
    cache[device].store(v);
  }
  return v == 1;
}

void forward_bf16(const GpuProblem& p, const GpuForward<bf16, float>& f, bf16* nodes) {
  LOGLIN_CHECK(aligned16(f.q) && aligned16(f.k) && aligned16(f.v) && aligned16(f.o) && aligned16(nodes),
               "[{}] q, k, v, o and the workspace must be 16-byte aligned", kOp);
  run_forward(p, f, nodes);
}


void bf16_to_f32(const bf16* src, float* dst, int64_t n, int device) {
  if (n <= 0) return;
  bf16_to_f32_kernel<<<cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream(device)>>>(
      reinterpret_cast<const bf*>(src), dst, n);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

void f32_to_bf16(const float* src, bf16* dst, int64_t n, int device) {
  if (n <= 0) return;
  f32_to_bf16_kernel<<<cuda::blocks_for(n), cuda::kThreads, 0, cuda::stream(device)>>>(src, reinterpret_cast<bf*>(dst),
                                                                                       n);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

}  // namespace loglin::lla::v2

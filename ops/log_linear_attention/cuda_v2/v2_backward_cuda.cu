// v2 backward of log_linear_attention (KERNELS_PLAN.md "Backward", 5 launches):
// bf16 tensor cores with f32 accumulators (B1, B2 and B4 register-resident
// through mma.sync + ldmatrix, v2_mma.cuh, with their tiles prefetched by
// cp.async); g, dg and every decay in f32 (G per row in double, differences rounded to f32).
// Launches, independent of T (5, and the forward's 4):
//   (G per row and the tree nodes are the forward's, kept in its workspace);
//   B1 bwd_query_kernel<K, V>: dq (summed over the group's heads in
//      registers), dlevel_scales, and per row do . o = sum_l lambda_l
//      dlambda_l (exact in f32; the bf16 o is never read); grid (n_jobs, G);
//   B2 bwd_node_grad_kernel<K, V>: the gradient of every node that is read,
//      dR(j, a) = sum over its reading rows t of w_t q_t do_t^T, as one piece
//      per group of 8 aligned chunks (no atomics); grid (n_groups, H);
//   B3 bwd_push_down_kernel: dU(m), the gradient of each chunk state, by the
//      transposed tree walked top-down (one thread per element);
//   B4 bwd_key_kernel<K, V>: dk (summed over the group in registers), dv, and
//      per row dG = do . o - v . dv (B1's first term); grid (n_jobs, G);
//   B5 bwd_dg_kernel: dg = reverse cumulative sum of dG, in double.
// Notation as the forward: slot r of a chunk tile is position n C + r; a warp
// owns tile rows 16 w .. 16 w + 15; W[t, s] = lambda_t[level(t, s)]
// exp(G_t - G_s) for s <= t in one chunk.
// In the per-element passes, lane l of a warp takes the warp's row l / 2 and
// half l % 2 of its columns, so a row's sums need one shuffle.
#include <atomic>
#include <type_traits>

#include "ops/log_linear_attention/cuda_v2/v2_backward_cuda.h"
#include "ops/log_linear_attention/cuda_v2/v2_common.cuh"
#include "ops/log_linear_attention/cuda_v2/v2_forward_cuda.h"

namespace loglin::lla::v2 {
namespace {

constexpr int kSmallSlots = 7;  // group slots of the nodes of levels 0, 1, 2
constexpr int kMaxL = 32;       // level_scales columns the kernels stage (L <= 32)

// The slot, in chunk n's group, of the node that n reads at level j.
__device__ __forceinline__ int read_slot(int64_t n, int j) {
  const int r = static_cast<int>(n & 7);
  return j == 0 ? (r >> 1) : j == 1 ? 4 + (r >> 2) : j == 2 ? 6 : kSmallSlots + j - 3;
}
__device__ __forceinline__ int64_t group_index(const GpuSeq& s, int64_t g) { return s.grp_off + (g - (s.n0 >> 3)); }

template <class E>
struct Args {
  const E *q, *k, *v, *ls, *dout;  // o is not needed: do . o comes from dlambda
  E *dq, *dk, *dv, *dls;
  const double* Gd;
  const E* nodes;
  float* dRp;
  E* dU;
  float* dGrow;
  float* dg;
  int64_t slots;
};

// ---- B1: dq and dlevel_scales ----

// Register-resident (v2_mma.cuh): S = Q_w K^T, dA = dO_w V^T, the mask, dq
// and each node read's Q_w R stay in mma.sync accumulators; dO_w stays in
// registers as A fragments for the whole head. Shared memory holds only the
// tiles: Q, K, one V / dO pair (the next head's is prefetched as soon as the
// current one is in registers) and two node tiles (the next read is in
// flight while this one is used), so the block's loads overlap its math and
// one barrier per read suffices. About 97 KiB at K = 128, V = 64: two blocks
// per SM.
template <int K, int V, class E>
struct QueryLayout {
  static constexpr int ldk = K + kPad, ldv = V + kPad;
  static constexpr size_t r_bytes = align128(sizeof(E) * K * ldv);
  static constexpr size_t q_off = 0;
  static constexpr size_t k_off = q_off + align128(sizeof(E) * kC * ldk);
  static constexpr size_t v_off = k_off + align128(sizeof(E) * kC * ldk);
  static constexpr size_t do_off = v_off + align128(sizeof(E) * kC * ldv);
  static constexpr size_t r_off = do_off + align128(sizeof(E) * kC * ldv);  // two node tiles
  static constexpr size_t sc_off = r_off + 2 * r_bytes;                       // two heads' scalars
  static constexpr size_t dl_off = sc_off + 2 * kHeadScalarBytes;
  static constexpr size_t bytes(int64_t L) { return dl_off + align128(sizeof(float) * kC * (L + 1)); }
  static __device__ HeadScalars scalars(unsigned char* smem, int64_t i) {
    return head_scalars_at(smem + sc_off + (i & 1) * kHeadScalarBytes);
  }
};

// dq_t = sum_h [ sum_s W[t,s] (do_t . v_s) k_s + sum_reads w_t R do_t ];
// dlambda_t[l] = sum_{s: level l} exp(G_t - G_s) (q_t . k_s)(do_t . v_s) for
// l <= c, and exp(G_t - G_end) q_t^T R do_t at the level c + j + 1 of a read.
// Lane (g, qd) = (lane / 4, lane % 4) of warp w holds rows tA = 16 w + g and
// tB = tA + 8 of every accumulator (v2_mma.cuh).
template <int K, int V, class E>
__global__ void __launch_bounds__(kBlock) bwd_query_kernel(GpuProblem p, Args<E> b) {
  using Lt = QueryLayout<K, V, E>;
  using FragA = typename Frag<E>::A;
  constexpr int ldk = Lt::ldk, ldv = Lt::ldv;
  extern __shared__ __align__(128) unsigned char smem[];
  E* Qs = reinterpret_cast<E*>(smem + Lt::q_off);
  E* Ks = reinterpret_cast<E*>(smem + Lt::k_off);
  E* Vs = reinterpret_cast<E*>(smem + Lt::v_off);
  E* dOs = reinterpret_cast<E*>(smem + Lt::do_off);
  auto Rbuf = [&](int64_t i) { return reinterpret_cast<E*>(smem + Lt::r_off + (i & 1) * Lt::r_bytes); };
  float* dlS = reinterpret_cast<float*>(smem + Lt::dl_off);
  const int ldl = static_cast<int>(p.L) + 1;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, qd = lane & 3;
  const int tA = warp * 16 + (lane >> 2), tB = tA + 8;

  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t grp = blockIdx.y, n = job.n, per = p.H / p.G;
  const ChunkSlots cs = chunk_slots(s, n);
  const bool okA = cs.ok(tA), okB = cs.ok(tB);
  const int64_t sqk = p.G * K, sv = p.H * V, sls = p.H * p.L;
  const E* q = b.q + s.row0 * sqk + grp * K;
  const E* k = b.k + s.row0 * sqk + grp * K;

  // Bit jb: chunk n reads node (jb, (n >> jb) - 1); the same for every head.
  uint64_t reads = 0;
  for (int jb = 0; jb < 62 && (n >> jb) != 0; ++jb)
    if (gpu::reads_node(s, n, jb)) reads |= 1ull << jb;
  const int nr = __popcll(reads), first_read = __ffsll(static_cast<long long>(reads)) - 1;

  auto issue_head = [&](int64_t hi) {  // V and dO of the group's head hi
    const int64_t h = grp * per + hi;
    const E* v = b.v + s.row0 * sv + h * V;
    const E* dout = b.dout + s.row0 * sv + h * V;
    issue_tile<V>(Vs, ldv, kC, [&](int i) -> const E* { return cs.ok(i) ? v + (cs.base + i) * sv : nullptr; });
    issue_tile<V>(dOs, ldv, kC, [&](int i) -> const E* { return cs.ok(i) ? dout + (cs.base + i) * sv : nullptr; });
  };
  auto issue_read = [&](int64_t hi, int jb, E* dst) {  // node (jb, (n >> jb) - 1) of head hi
    const int64_t h = grp * per + hi;
    const E* R = b.nodes + (gpu::node_index(s, jb, (n >> jb) - 1) * p.H + h) * static_cast<int64_t>(K * V);
    issue_tile<V>(dst, ldv, K, [&](int x) -> const E* { return R + static_cast<int64_t>(x) * V; });
  };

  issue_tile<K>(Qs, ldk, kC, [&](int i) -> const E* { return cs.ok(i) ? q + (cs.base + i) * sqk : nullptr; });
  issue_tile<K>(Ks, ldk, kC, [&](int i) -> const E* { return cs.ok(i) ? k + (cs.base + i) * sqk : nullptr; });
  issue_head(0);
  load_head_scalars(p, s, cs, b.Gd, b.ls, grp * per, Lt::scalars(smem, 0));
  cp_async_wait_all();
  __syncthreads();
  if (nr > 0) issue_read(0, first_read, Rbuf(0));

  // S = Q_w K_n^T, raw (the same for every head); tiles right of the diagonal block stay 0.
  Acc8 S[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) zero(S[j]);
  rows_times_rows_t<K>(S, Qs + warp * 16 * ldk, Ks, ldk, lane, [&](int j2) { return j2 <= warp; });

  Acc8 dq[K / 8];
#pragma unroll
  for (int x = 0; x < K / 8; ++x) zero(dq[x]);

  for (int64_t hi = 0; hi < per; ++hi) {
    const int64_t h = grp * per + hi;
    const HeadScalars hs = Lt::scalars(smem, hi);
    if (hi > 0) {
      cp_async_wait_all();
      __syncthreads();  // V, dO and the scalars of head hi are visible
    }
    FragA dOf[V / 16];
#pragma unroll
    for (int kk = 0; kk < V / 16; ++kk) dOf[kk] = load_a(dOs + warp * 16 * ldv + kk * 16, ldv, lane);
    // dA = dO_w V_n^T.
    Acc8 dA[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) zero(dA[j]);
#pragma unroll
    for (int kk = 0; kk < V / 16; ++kk)
#pragma unroll
      for (int j2 = 0; j2 < 4; ++j2)
        if (j2 <= warp) mma2(&dA[2 * j2], dOf[kk], load_b_nk(Vs + j2 * 16 * ldv + kk * 16, ldv, lane));
    __syncthreads();  // every warp has V and dO of head hi in registers: prefetch head hi + 1's
    if (hi + 1 < per) {
      issue_head(hi + 1);
      load_head_scalars(p, s, cs, b.Gd, b.ls, h + 1, Lt::scalars(smem, hi + 1));
    }

    // dP = dA o W (bf16 A fragments) and the in-chunk dlambda, binned by level.
    float binA[7], binB[7];
#pragma unroll
    for (int l = 0; l < 7; ++l) binA[l] = binB[l] = 0.0f;
    FragA P[4];
#pragma unroll
    for (int j2 = 0; j2 < 4; ++j2) {
      if (j2 > warp) {
        P[j2] = FragA{};
        continue;
      }
#pragma unroll
      for (int j = 2 * j2; j < 2 * j2 + 2; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int t = e < 2 ? tA : tB, c = 8 * j + 2 * qd + (e & 1);
          float val = 0.0f;
          if ((e < 2 ? okA : okB) && c <= t && c >= cs.lo) {
            const int lev = 32 - __clz(t ^ c);
            const float ex = __expf(hs.G[t] - hs.G[c]);
            const float a = dA[j].x[e];
            val = a * hs.lam[t * 8 + lev] * ex;
            const float contrib = a * S[j].x[e] * ex;
#pragma unroll
            for (int l = 0; l < 7; ++l)
              if (l == lev) {
                if (e < 2) binA[l] += contrib;
                else binB[l] += contrib;
              }
          }
          dA[j].x[e] = val;
        }
      a_from_acc(P[j2], dA[2 * j2], dA[2 * j2 + 1]);
    }
#pragma unroll
    for (int l = 0; l < 7; ++l) {
      binA[l] = quad_sum(binA[l]);
      binB[l] = quad_sum(binB[l]);
    }
    // dlambda rows tA, tB: the in-chunk levels, 0 for the rest (reads fill theirs).
    for (int l = qd; l < ldl; l += 4) {
      float xa = 0.0f, xb = 0.0f;
#pragma unroll
      for (int m = 0; m < 7; ++m)
        if (m == l) xa = binA[m], xb = binB[m];
      dlS[tA * ldl + l] = xa;
      dlS[tB * ldl + l] = xb;
    }
    __syncwarp();

    // dq += dP K_n.
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
      if (kk <= warp)
#pragma unroll
        for (int x2 = 0; x2 < K / 16; ++x2) mma2(&dq[2 * x2], P[kk], load_b_kn(Ks + kk * 16 * ldk + x2 * 16, ldk, lane));

    // Node reads: dq += diag(w) dO_w R^T; dlambda_t = exp(G_t - G_end) do_t . (q_t R).
    const E* lsh = b.ls + s.row0 * sls + h * p.L;
    const double GdA = hs.Gd[tA], GdB = hs.Gd[tB];
    int jb = first_read;
    for (int i = 0; i < nr; ++i, jb = next_bit(reads, jb)) {
      const int64_t qi = hi * nr + i;
      cp_async_wait_all();
      __syncthreads();  // read qi's tile is visible; every warp is done with read qi - 1's buffer
      if (i + 1 < nr) issue_read(hi, next_bit(reads, jb), Rbuf(qi + 1));
      else if (hi + 1 < per) issue_read(hi + 1, first_read, Rbuf(qi + 1));
      const E* Rs = Rbuf(qi);
      const double Ge = b.Gd[(s.row0 + gpu::node_last_row(s, jb, (n >> jb) - 1, kC)) * p.H + h];
      const int lev = static_cast<int>(p.c) + jb + 1;
      const float eA = okA ? __expf(static_cast<float>(GdA - Ge)) : 0.0f;
      const float eB = okB ? __expf(static_cast<float>(GdB - Ge)) : 0.0f;
      const float wA = okA ? to_f(lsh[(cs.base + tA) * sls + lev]) * eA : 0.0f;
      const float wB = okB ? to_f(lsh[(cs.base + tB) * sls + lev]) * eB : 0.0f;
      float yA = 0.0f, yB = 0.0f;
      {  // Y = Q_w R, then do_t . y_t from registers
        Acc8 Y[V / 8];
#pragma unroll
        for (int y = 0; y < V / 8; ++y) zero(Y[y]);
#pragma unroll
        for (int kk = 0; kk < K / 16; ++kk) {
          const FragA a = load_a(Qs + warp * 16 * ldk + kk * 16, ldk, lane);
#pragma unroll
          for (int y2 = 0; y2 < V / 16; ++y2) mma2(&Y[2 * y2], a, load_b_kn(Rs + kk * 16 * ldv + y2 * 16, ldv, lane));
        }
        add_row_dots(dOf, Y, yA, yB);
      }
      yA = quad_sum(yA);
      yB = quad_sum(yB);
      if (qd == 0) {
        if (okA) dlS[tA * ldl + lev] = eA * yA;
        if (okB) dlS[tB * ldl + lev] = eB * yB;
      }
#pragma unroll
      for (int kk = 0; kk < V / 16; ++kk) {
        const FragA c = scale_rows(dOf[kk], wA, wB);
#pragma unroll
        for (int x2 = 0; x2 < K / 16; ++x2) mma2(&dq[2 * x2], c, load_b_nk(Rs + x2 * 16 * ldv + kk * 16, ldv, lane));
      }
    }

    // dlevel_scales of head h (unread levels are 0), and do_t . o_t = sum_l
    // lambda_t[l] dlambda_t[l] (o is linear in lambda_t), in f32 from the
    // unrounded dlambda: dg's first term without reading the bf16 o, whose
    // rounding would dominate dg's cancellation. B4 subtracts v_t . dv_t.
    __syncwarp();
    E* dls = b.dls + s.row0 * sls + h * p.L;
#pragma unroll
    for (int e = 0; e < 2; ++e) {
      const int t = e == 0 ? tA : tB;
      const bool ok = e == 0 ? okA : okB;
      float d = 0.0f;
      if (ok)
        for (int l = qd; l < p.L; l += 4) {
          const float dl = dlS[t * ldl + l];
          from_f(dl, dls[(cs.base + t) * sls + l]);
          d += to_f(lsh[(cs.base + t) * sls + l]) * dl;
        }
      d = quad_sum(d);
      if (ok && qd == 0) b.dGrow[(s.row0 + cs.base + t) * p.H + h] = d;
    }
    __syncwarp();  // dlS rows are rewritten by the next head
  }

  // dq of the group's heads, valid rows.
  E* dqo = b.dq + s.row0 * sqk + grp * K;
  store_rows<K / 8>(dq, okA ? dqo + (cs.base + tA) * sqk : nullptr, okB ? dqo + (cs.base + tB) * sqk : nullptr,
                         lane);
}

// ---- B2: node-gradient pieces ----

// Register-resident (v2_mma.cuh): the warp's share of the K x PW piece stays
// in mma.sync accumulators over a run's chunks; w_t scales the A fragments
// of Q^T in registers. The (Q, dO, w) tiles of the next step (next chunk of
// the run, or the first of the next run) are in flight while the current
// one is used: one barrier per step. About 53 KiB at K = 128, V = 64.
template <int K, int V, class E>
struct NodeGradLayout : WarpTiles<K, V> {
  using WarpTiles<K, V>::PW;
  static constexpr int ldq = K + kPad, ldv = PW + kPad;
  static constexpr size_t q_rel = 0;  // within one step's buffer
  static constexpr size_t v_rel = q_rel + align128(sizeof(E) * kC * ldq);
  static constexpr size_t w_rel = v_rel + align128(sizeof(E) * kC * ldv);
  static constexpr size_t step_bytes = w_rel + align128(sizeof(float) * kC);
  static constexpr size_t bytes = 2 * step_bytes;
};

// One step of B2's walk: panel pv, level j, the run of chunks starting at
// r0 (the group's chunks that read one node of level j), chunk m of it.
struct NodeStep {
  int pv, j;
  int64_t r0, m, c0, c1;
};
// The first step at or after (pv, j, r0) whose run is not empty.
__device__ bool seek_run(const GpuSeq& s, int64_t g, int max_levels, int np, NodeStep& st) {
  const int64_t gn0 = gpu::imax(8 * g, s.n0), gn1 = gpu::imin(8 * g + 7, s.n1);
  while (st.pv < np) {
    while (st.j < max_levels) {
      const int64_t step = st.j < 3 ? (int64_t(1) << st.j) : 8;
      for (; st.r0 < 8 * g + 8; st.r0 += step) {
        if (!((st.r0 >> st.j) & 1)) continue;
        const int64_t c0 = gpu::imax(st.r0, gn0), c1 = gpu::imin(st.r0 + step - 1, gn1);
        if (c0 > c1 || !gpu::reads_node(s, c0, st.j)) continue;
        st.m = st.c0 = c0;
        st.c1 = c1;
        return true;
      }
      ++st.j;
      st.r0 = 8 * g;
    }
    ++st.pv;
    st.j = 0;
  }
  return false;
}
__device__ bool next_step(const GpuSeq& s, int64_t g, int max_levels, int np, NodeStep& st) {
  if (st.m < st.c1) {
    ++st.m;
    return true;
  }
  st.r0 += st.j < 3 ? (int64_t(1) << st.j) : 8;
  return seek_run(s, g, max_levels, np, st);
}

// For the group of 8 aligned chunks blockIdx.x and head blockIdx.y: for each
// level j and each run of the group's chunks that read one node (j, a), the
// piece sum_{t in run} w_t q_t do_t^T (K x V, f32), w_t = lambda_t[c + j + 1]
// exp(G_t - G_end(j, a)), stored to the run's slot. Levels 0..2: the whole
// node gradient (its readers lie in one group); levels >= 3: one piece per
// reading group, summed by B3.
template <int K, int V, class E>
__global__ void __launch_bounds__(kBlock) bwd_node_grad_kernel(GpuProblem p, Args<E> b) {
  using Lt = NodeGradLayout<K, V, E>;
  constexpr int PW = Lt::PW, ldq = Lt::ldq, ldv = Lt::ldv, WM = Lt::WM, WN = Lt::WN;
  extern __shared__ __align__(128) unsigned char smem[];
  auto buf = [&](int64_t i, size_t rel) { return smem + (i & 1) * Lt::step_bytes + rel; };
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, qd = lane & 3, gq = lane >> 2;

  const int64_t gi = blockIdx.x, h = blockIdx.y;
  int64_t lo = 0, hi = p.n_seqs - 1;  // the sequence whose groups include gi
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (p.seqs[mid].grp_off <= gi) lo = mid;
    else hi = mid - 1;
  }
  const GpuSeq s = p.seqs[lo];
  const int64_t g = (s.n0 >> 3) + (gi - s.grp_off);
  const int64_t sqk = p.G * K, sv = p.H * V, sls = p.H * p.L, KV = int64_t(K) * V;
  const int64_t grp = h / (p.H / p.G);
  const E* q = b.q + s.row0 * sqk + grp * K;
  const E* dout = b.dout + s.row0 * sv + h * V;
  const E* ls = b.ls + s.row0 * sls + h * p.L;
  const double* Gd = b.Gd + s.row0 * p.H + h;
  const int ml = static_cast<int>(p.max_levels);

  auto issue_step = [&](const NodeStep& st, int64_t i) {  // Q, dO panel and w of chunk st.m into buffer i
    const ChunkSlots cs = chunk_slots(s, st.m);
    issue_tile<K>(reinterpret_cast<E*>(buf(i, Lt::q_rel)), ldq, kC,
                  [&](int r) -> const E* { return cs.ok(r) ? q + (cs.base + r) * sqk : nullptr; });
    issue_tile<PW>(reinterpret_cast<E*>(buf(i, Lt::v_rel)), ldv, kC,
                   [&](int r) -> const E* { return cs.ok(r) ? dout + (cs.base + r) * sv + st.pv * PW : nullptr; });
    if (tid < kC) {
      const double Ge = Gd[gpu::node_last_row(s, st.j, (st.c0 >> st.j) - 1, kC) * p.H];
      reinterpret_cast<float*>(buf(i, Lt::w_rel))[tid] =
          cs.ok(tid) ? to_f(ls[(cs.base + tid) * sls + p.c + st.j + 1]) *
                           __expf(static_cast<float>(Gd[(cs.base + tid) * p.H] - Ge))
                     : 0.0f;
    }
  };

  Acc8 acc[WM][2 * WN];
#pragma unroll
  for (int i = 0; i < WM; ++i)
#pragma unroll
    for (int x = 0; x < 2 * WN; ++x) zero(acc[i][x]);

  NodeStep cur{0, 0, 8 * g, 0, 0, 0};
  bool have = seek_run(s, g, ml, Lt::NP, cur);
  if (have) issue_step(cur, 0);
  for (int64_t it = 0; have; ++it) {
    cp_async_wait_all();
    __syncthreads();  // step it's tiles are visible; step it - 1's buffer is free
    NodeStep nxt = cur;
    const bool have_next = next_step(s, g, ml, Lt::NP, nxt);
    if (have_next) issue_step(nxt, it + 1);

    const E* Qs = reinterpret_cast<const E*>(buf(it, Lt::q_rel));
    const E* dOs = reinterpret_cast<const E*>(buf(it, Lt::v_rel));
    const float* Wr = reinterpret_cast<const float*>(buf(it, Lt::w_rel));
#pragma unroll
    for (int kk = 0; kk < kC / 16; ++kk) {
      const int t = kk * 16 + 2 * qd;
      const float w0 = Wr[t], w1 = Wr[t + 1], w8 = Wr[t + 8], w9 = Wr[t + 9];
      typename Frag<E>::B bo[WN];
#pragma unroll
      for (int jn = 0; jn < WN; ++jn) bo[jn] = load_b_kn(dOs + kk * 16 * ldv + Lt::n_tile(warp, jn) * 16, ldv, lane);
#pragma unroll
      for (int i = 0; i < WM; ++i) {
        const typename Frag<E>::A a =
            scale_cols(load_a_trans(Qs + kk * 16 * ldq + Lt::m_tile(warp, i) * 16, ldq, lane), w0, w1, w8, w9);  // A[x][t] = Q[t][x]
#pragma unroll
        for (int jn = 0; jn < WN; ++jn) mma2(&acc[i][2 * jn], a, bo[jn]);
      }
    }

    if (cur.m == cur.c1) {  // the run is complete: its piece to its slot
      float* out = b.dRp + ((gi * b.slots + read_slot(cur.c0, cur.j)) * p.H + h) * KV + cur.pv * PW;
#pragma unroll
      for (int i = 0; i < WM; ++i)
#pragma unroll
        for (int x = 0; x < 2 * WN; ++x) {
          const int row = Lt::m_tile(warp, i) * 16 + gq, col = Lt::n_tile(warp, x / 2) * 16 + (x & 1) * 8 + 2 * qd;
          *reinterpret_cast<float2*>(out + static_cast<int64_t>(row) * V + col) = make_float2(acc[i][x].x[0], acc[i][x].x[1]);
          *reinterpret_cast<float2*>(out + static_cast<int64_t>(row + 8) * V + col) =
              make_float2(acc[i][x].x[2], acc[i][x].x[3]);
          zero(acc[i][x]);
        }
    }
    cur = nxt;
    have = have_next;
  }
}

// ---- B3: chunk-state gradients by the transposed tree ----

// dU(m) = P(0, m) with P(j, a) = [node (j, a) is read] dR(j, a)
//   + exp(G_end(j + 1, a / 2) - G_end(j, a)) P(j + 1, a / 2),
// walked over m = n0 .. n1 - 1 so that only the levels whose node changes
// are recomputed (amortised two per chunk). One thread per (sequence, head,
// kPushVec elements); grid (n_seqs * H, ceil(K V / (256 kPushVec))); the
// level loops are unrolled over ML levels (4 to kMaxLevels, as F2) so that P
// stays in registers. live: P(j) may be nonzero; only then is its node's end
// row read (it is inside the sequence). Each chunk first issues the loads of
// every level it recomputes (pieces and end rows: independent), then
// combines top-down, so the loads of one chunk are in flight together.
// Both passes recurse on the level (post-order: levels jtop .. 0) instead of
// looping over all ML levels with the others predicated off: jtop is
// block-uniform and averages one, and the predicated form made the walk
// issue-bound (as F2's).
constexpr int kPushVec = 4;

// Loads of level J of chunk m's step, after those of the levels above it.
template <int J, int ML, class Walk>
__device__ __forceinline__ void push_loads(Vec4 (&P)[ML], double (&gP)[ML], uint32_t& live, uint32_t& fp, int jtop,
                                           int64_t m, const Walk& w) {
  if constexpr (J < ML) {
    if (J > jtop) return;
    push_loads<J + 1>(P, gP, live, fp, jtop, m, w);
    const int64_t a = m >> J, first = (a + 1) << J;
    const bool read = !(a & 1) && first <= w.n1;  // node (J, a) is read by chunks first .. min(first + 2^J - 1, n1)
    const bool from_parent = J + 1 < ML && ((live >> (J + 1)) & 1u);
    if (read || from_parent) gP[J] = w.Gend(J, a);
    Vec4 x = zero_vec4();
    if (read) {
      if constexpr (J < 3) {
        x = w.piece(first >> 3, read_slot(first, J));
      } else {
        const int64_t last = gpu::imin(first + (int64_t(1) << J) - 1, w.n1);
#pragma unroll 4
        for (int64_t gg = first >> 3; gg <= (last >> 3); ++gg) add_vec4(w.piece(gg, kSmallSlots + J - 3), x);
      }
    }
    P[J] = x;
    if (from_parent) fp |= 1u << J;
    live = (read || from_parent) ? (live | (1u << J)) : (live & ~(1u << J));
  }
}

// P(J) += exp(G_end(J + 1) - G_end(J)) P(J + 1) where level J adds its parent, top-down.
template <int J, int ML>
__device__ __forceinline__ void push_combine(Vec4 (&P)[ML], const double (&gP)[ML], uint32_t fp, int jtop) {
  if constexpr (J + 1 < ML) {
    if (J > jtop) return;
    push_combine<J + 1>(P, gP, fp, jtop);
    if ((fp >> J) & 1u) axpy_vec4(__expf(static_cast<float>(gP[J + 1] - gP[J])), P[J + 1], P[J]);
  }
}

template <int ML, class E>
__global__ void __launch_bounds__(kTreeThreads, tree_blocks_per_sm(ML)) bwd_push_down_kernel(GpuProblem p, Args<E> b) {
  const int64_t seq = blockIdx.x / p.H, h = blockIdx.x % p.H;
  const GpuSeq s = p.seqs[seq];
  const int64_t KV = p.K * p.V, e = (int64_t(blockIdx.y) * kTreeThreads + threadIdx.x) * kPushVec;
  if (e >= KV || s.n0 >= s.n1) return;  // no barriers in this kernel
  const double* Gd = b.Gd + s.row0 * p.H + h;
  struct Walk {
    const GpuSeq& s;
    const Args<E>& b;
    const double* Gd;
    int64_t n1, H, h, KV, e;
    __device__ double Gend(int j, int64_t a) const { return Gd[gpu::node_last_row(s, j, a, kC) * H]; }
    __device__ Vec4 piece(int64_t grp_of, int slot) const {
      return load_vec4(b.dRp + ((group_index(s, grp_of) * b.slots + slot) * H + h) * KV + e);
    }
  };
  const Walk w{s, b, Gd, s.n1, p.H, h, KV, e};
  const int levels = gpu::tree_levels(s);
  Vec4 P[ML];
  double gP[ML];  // G at the end of level j's current node (valid where live)
  uint32_t live = 0;
  for (int64_t m = s.n0; m < s.n1; ++m) {
    const int jtop = m == s.n0 ? levels - 1 : gpu::bit_len(m ^ (m - 1)) - 1;
    uint32_t fp = 0;  // levels that add their parent
    push_loads<0>(P, gP, live, fp, jtop, m, w);
    push_combine<0>(P, gP, fp, jtop);
    store_vec4(b.dU + ((s.job_off + (m - s.n0)) * p.H + h) * KV + e, P[0]);
  }
}

// ---- B4: dk, dv and dG ----

// Register-resident like B1: S^T, P^T, dv, dA^T and dk live in mma.sync
// accumulators and the warp's V rows in A fragments. The head's V, dO and
// dU tiles are double-buffered: head h + 1's are in flight while head h is
// computed, so there is one barrier per head. About 112 KiB at K = 128,
// V = 64: two blocks per SM.
template <int K, int V, class E>
struct KeyLayout {
  static constexpr int ldk = K + kPad, ldv = V + kPad;
  static constexpr size_t v_rel = 0;  // within one head's buffer
  static constexpr size_t do_rel = v_rel + align128(sizeof(E) * kC * ldv);
  static constexpr size_t u_rel = do_rel + align128(sizeof(E) * kC * ldv);
  static constexpr size_t head_bytes = u_rel + align128(sizeof(E) * K * ldv);
  static constexpr size_t q_off = 0;
  static constexpr size_t k_off = q_off + align128(sizeof(E) * kC * ldk);
  static constexpr size_t h_off = k_off + align128(sizeof(E) * kC * ldk);  // two heads' V, dO, dU
  static constexpr size_t sc_off = h_off + 2 * head_bytes;                   // two heads' scalars
  static constexpr size_t bytes = sc_off + 2 * kHeadScalarBytes;
  static __device__ HeadScalars scalars(unsigned char* smem, int64_t i) {
    return head_scalars_at(smem + sc_off + (i & 1) * kHeadScalarBytes);
  }
};

// For source rows s of the warp: dv_s = sum_t W[t,s] (q_t . k_s) do_t
// + d_s dU^T k_s, dk_s = sum_h [ sum_t W[t,s] (do_t . v_s) q_t + d_s dU v_s ]
// with d_s = exp(G_e - G_s) (e: the chunk's last row; chunks n < n1 only,
// the last chunk is in no node), and dG_s -= v_s . dv_s (B1 put do_s . o_s).
// Lane (g, qd) of warp w holds source rows sA = 16 w + g and sB = sA + 8.
template <int K, int V, class E>
__global__ void __launch_bounds__(kBlock) bwd_key_kernel(GpuProblem p, Args<E> b) {
  using Lt = KeyLayout<K, V, E>;
  using FragA = typename Frag<E>::A;
  constexpr int ldk = Lt::ldk, ldv = Lt::ldv;
  extern __shared__ __align__(128) unsigned char smem[];
  E* Qs = reinterpret_cast<E*>(smem + Lt::q_off);
  E* Ks = reinterpret_cast<E*>(smem + Lt::k_off);
  auto head_tile = [&](int64_t hi, size_t rel) {
    return reinterpret_cast<E*>(smem + Lt::h_off + (hi & 1) * Lt::head_bytes + rel);
  };
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, qd = lane & 3;
  const int sA = warp * 16 + (lane >> 2), sB = sA + 8;

  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t grp = blockIdx.y, n = job.n, per = p.H / p.G;
  const ChunkSlots cs = chunk_slots(s, n);
  const bool okA = cs.ok(sA), okB = cs.ok(sB);
  const bool has_u = n < s.n1;
  const int64_t sqk = p.G * K, sv = p.H * V, KV = int64_t(K) * V;
  const E* q = b.q + s.row0 * sqk + grp * K;
  const E* k = b.k + s.row0 * sqk + grp * K;

  auto issue_head = [&](int64_t hi) {  // V, dO and dU of the group's head hi, and its scalars
    const int64_t h = grp * per + hi;
    const E* v = b.v + s.row0 * sv + h * V;
    const E* dout = b.dout + s.row0 * sv + h * V;
    issue_tile<V>(head_tile(hi, Lt::v_rel), ldv, kC,
                  [&](int i) -> const E* { return cs.ok(i) ? v + (cs.base + i) * sv : nullptr; });
    issue_tile<V>(head_tile(hi, Lt::do_rel), ldv, kC,
                  [&](int i) -> const E* { return cs.ok(i) ? dout + (cs.base + i) * sv : nullptr; });
    if (has_u) {
      const E* U = b.dU + ((s.job_off + (n - s.n0)) * p.H + h) * KV;
      issue_tile<V>(head_tile(hi, Lt::u_rel), ldv, K, [&](int x) -> const E* { return U + static_cast<int64_t>(x) * V; });
    }
    load_head_scalars(p, s, cs, b.Gd, b.ls, h, Lt::scalars(smem, hi));
  };

  issue_tile<K>(Qs, ldk, kC, [&](int i) -> const E* { return cs.ok(i) ? q + (cs.base + i) * sqk : nullptr; });
  issue_tile<K>(Ks, ldk, kC, [&](int i) -> const E* { return cs.ok(i) ? k + (cs.base + i) * sqk : nullptr; });
  issue_head(0);
  cp_async_wait_all();
  __syncthreads();

  // S^T = K_w Q_n^T (16 sources x 64 queries), raw; query tiles before the warp's rows stay 0.
  Acc8 St[8];
#pragma unroll
  for (int j = 0; j < 8; ++j) zero(St[j]);
  rows_times_rows_t<K>(St, Ks + warp * 16 * ldk, Qs, ldk, lane, [&](int j2) { return j2 >= warp; });

  Acc8 dk[K / 8];
#pragma unroll
  for (int x = 0; x < K / 8; ++x) zero(dk[x]);

  for (int64_t hi = 0; hi < per; ++hi) {
    const int64_t h = grp * per + hi;
    const HeadScalars hs = Lt::scalars(smem, hi);
    if (hi > 0) {
      cp_async_wait_all();
      __syncthreads();  // head hi's tiles and scalars are visible; head hi - 1's buffers are free
    }
    if (hi + 1 < per) issue_head(hi + 1);
    const E* Vs = head_tile(hi, Lt::v_rel);
    const E* dOs = head_tile(hi, Lt::do_rel);
    const E* Us = head_tile(hi, Lt::u_rel);

    // W[t, s] for accumulator element e of tile j (source row sA or sB, query t), or 0.
    auto mask = [&](int j, int e) {
      const int sr = e < 2 ? sA : sB, t = 8 * j + 2 * qd + (e & 1);
      if (!((e < 2 ? okA : okB) && t >= sr && t < cs.hi)) return 0.0f;
      return hs.lam[t * 8 + (32 - __clz(t ^ sr))] * __expf(hs.G[t] - hs.G[sr]);
    };
    float dA_ = 0.0f, dB_ = 0.0f;  // d_s of rows sA, sB
    if (has_u) {
      const double Ge = b.Gd[(s.row0 + cs.base + cs.hi - 1) * p.H + h];
      dA_ = okA ? __expf(static_cast<float>(Ge - hs.Gd[sA])) : 0.0f;
      dB_ = okB ? __expf(static_cast<float>(Ge - hs.Gd[sB])) : 0.0f;
    }
    FragA Vf[V / 16];
#pragma unroll
    for (int kk = 0; kk < V / 16; ++kk) Vf[kk] = load_a(Vs + warp * 16 * ldv + kk * 16, ldv, lane);

    {  // dv_w = P^T dO_n + (d k)_w dU, P^T = S^T o W^T; then dG and dv out.
      FragA P[4];
#pragma unroll
      for (int j2 = 0; j2 < 4; ++j2) {
        if (j2 < warp) continue;
        Acc8 lo = St[2 * j2], hi2 = St[2 * j2 + 1];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          lo.x[e] *= mask(2 * j2, e);
          hi2.x[e] *= mask(2 * j2 + 1, e);
        }
        a_from_acc(P[j2], lo, hi2);
      }
      Acc8 dv[V / 8];
#pragma unroll
      for (int y = 0; y < V / 8; ++y) zero(dv[y]);
#pragma unroll
      for (int kk = 0; kk < 4; ++kk)
        if (kk >= warp)
#pragma unroll
          for (int y2 = 0; y2 < V / 16; ++y2) mma2(&dv[2 * y2], P[kk], load_b_kn(dOs + kk * 16 * ldv + y2 * 16, ldv, lane));
      if (has_u) {
#pragma unroll
        for (int kk = 0; kk < K / 16; ++kk) {
          const FragA a = scale_rows(load_a(Ks + warp * 16 * ldk + kk * 16, ldk, lane), dA_, dB_);
#pragma unroll
          for (int y2 = 0; y2 < V / 16; ++y2) mma2(&dv[2 * y2], a, load_b_kn(Us + kk * 16 * ldv + y2 * 16, ldv, lane));
        }
      }
      float vA = 0.0f, vB = 0.0f;  // v_s . dv_s
      add_row_dots(Vf, dv, vA, vB);
      vA = quad_sum(vA);
      vB = quad_sum(vB);
      if (qd == 0) {
        if (okA) b.dGrow[(s.row0 + cs.base + sA) * p.H + h] -= vA;
        if (okB) b.dGrow[(s.row0 + cs.base + sB) * p.H + h] -= vB;
      }
      E* dvo = b.dv + s.row0 * sv + h * V;
      store_rows<V / 8>(dv, okA ? dvo + (cs.base + sA) * sv : nullptr, okB ? dvo + (cs.base + sB) * sv : nullptr,
                             lane);
    }

    {  // dk_w += dP^T Q_n + (d v)_w dU^T, dP^T = (V_w dO_n^T) o W^T.
      Acc8 dAt[8];
#pragma unroll
      for (int j = 0; j < 8; ++j) zero(dAt[j]);
#pragma unroll
      for (int kk = 0; kk < V / 16; ++kk)
#pragma unroll
        for (int j2 = 0; j2 < 4; ++j2)
          if (j2 >= warp) mma2(&dAt[2 * j2], Vf[kk], load_b_nk(dOs + j2 * 16 * ldv + kk * 16, ldv, lane));
#pragma unroll
      for (int j2 = 0; j2 < 4; ++j2) {
        if (j2 < warp) continue;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          dAt[2 * j2].x[e] *= mask(2 * j2, e);
          dAt[2 * j2 + 1].x[e] *= mask(2 * j2 + 1, e);
        }
        FragA dP;
        a_from_acc(dP, dAt[2 * j2], dAt[2 * j2 + 1]);
#pragma unroll
        for (int x2 = 0; x2 < K / 16; ++x2) mma2(&dk[2 * x2], dP, load_b_kn(Qs + j2 * 16 * ldk + x2 * 16, ldk, lane));
      }
      if (has_u) {
#pragma unroll
        for (int kk = 0; kk < V / 16; ++kk) {
          const FragA a = scale_rows(Vf[kk], dA_, dB_);
#pragma unroll
          for (int x2 = 0; x2 < K / 16; ++x2) mma2(&dk[2 * x2], a, load_b_nk(Us + x2 * 16 * ldv + kk * 16, ldv, lane));
        }
      }
    }
  }

  // dk of the group's heads, valid rows.
  E* dko = b.dk + s.row0 * sqk + grp * K;
  store_rows<K / 8>(dk, okA ? dko + (cs.base + sA) * sqk : nullptr, okB ? dko + (cs.base + sB) * sqk : nullptr,
                         lane);
}

// ---- B5: dg ----

// dg_r = sum_{t >= r} dG_t per (sequence, head), in double; grid (n_seqs, H).
__global__ void __launch_bounds__(kScanThreads) bwd_dg_kernel(GpuProblem p, const float* dGrow, float* dg) {
  const GpuSeq s = p.seqs[blockIdx.x];
  const int64_t h = blockIdx.y;
  wide_scan(
      s.len, true, [&](int64_t i) { return static_cast<double>(dGrow[(s.row0 + i) * p.H + h]); },
      [&](int64_t i, double x) { dg[(s.row0 + i) * p.H + h] = static_cast<float>(x); });
}

// ---- launchers ----

template <int K, int V, class E>
void backward_kv(const GpuProblem& p, const Args<E>& a, cudaStream_t st) {
  const dim3 per_job(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.G));
  if (p.n_nodes > 0) {
    constexpr size_t s2 = NodeGradLayout<K, V, E>::bytes;
    allow_smem(bwd_node_grad_kernel<K, V, E>, s2);
    bwd_node_grad_kernel<K, V, E>
        <<<dim3(static_cast<unsigned>(p.n_groups), static_cast<unsigned>(p.H)), kBlock, s2, st>>>(p, a);
    LOGLIN_CUDA_LAUNCHED(kOp);
    const int64_t per_block = int64_t(kTreeThreads) * kPushVec, KV = int64_t(K) * V;
    const dim3 grid(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>((KV + per_block - 1) / per_block));
    if (p.max_levels <= 4) bwd_push_down_kernel<4, E><<<grid, kTreeThreads, 0, st>>>(p, a);
    else if (p.max_levels <= 6) bwd_push_down_kernel<6, E><<<grid, kTreeThreads, 0, st>>>(p, a);
    else if (p.max_levels <= 8) bwd_push_down_kernel<8, E><<<grid, kTreeThreads, 0, st>>>(p, a);
    else if (p.max_levels <= 12) bwd_push_down_kernel<12, E><<<grid, kTreeThreads, 0, st>>>(p, a);
    else bwd_push_down_kernel<kMaxLevels, E><<<grid, kTreeThreads, 0, st>>>(p, a);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
  const size_t s1 = QueryLayout<K, V, E>::bytes(p.L);
  allow_smem(bwd_query_kernel<K, V, E>, s1);
  bwd_query_kernel<K, V, E><<<per_job, kBlock, s1, st>>>(p, a);
  LOGLIN_CUDA_LAUNCHED(kOp);
  constexpr size_t s4 = KeyLayout<K, V, E>::bytes;
  allow_smem(bwd_key_kernel<K, V, E>, s4);
  bwd_key_kernel<K, V, E><<<per_job, kBlock, s4, st>>>(p, a);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <int K, int V, class E>
constexpr size_t backward_smem() {
  const size_t a = QueryLayout<K, V, E>::bytes(kMaxL), b = KeyLayout<K, V, E>::bytes, c = NodeGradLayout<K, V, E>::bytes;
  return a > b ? (a > c ? a : c) : (b > c ? b : c);
}
// The H100's 227 KiB: f32 shapes above it get no kernel (backward_shape_ok
// refuses them on every device, so they are not compiled).
constexpr size_t kSmemCompiled = 227 * 1024;

template <int K, class E>
void backward_k(const GpuProblem& p, const Args<E>& a, cudaStream_t st) {
  auto run = [&](auto v) {
    constexpr int V = decltype(v)::value;
    if constexpr (backward_smem<K, V, E>() <= kSmemCompiled) backward_kv<K, V, E>(p, a, st);
    else LOGLIN_FAIL("[{}] no backward kernel for K = {}, V = {} in this precision", kOp, K, V);
  };
  switch (p.V) {
    case 32: return run(std::integral_constant<int, 32>{});
    case 64: return run(std::integral_constant<int, 64>{});
    case 128: return run(std::integral_constant<int, 128>{});
    default: LOGLIN_FAIL("[{}] no backward kernel for V = {}", kOp, p.V);
  }
}

template <int K, class E>
size_t backward_smem_k(int64_t V) {
  return V == 32 ? backward_smem<K, 32, E>() : V == 64 ? backward_smem<K, 64, E>() : backward_smem<K, 128, E>();
}
template <class E>
size_t backward_smem_e(int64_t K, int64_t V) {
  return K == 32 ? backward_smem_k<32, E>(V) : K == 64 ? backward_smem_k<64, E>(V) : backward_smem_k<128, E>(V);
}

bool dim_ok(int64_t d) { return d == 32 || d == 64 || d == 128; }
bool aligned16(const void* x) { return (reinterpret_cast<uintptr_t>(x) & 15u) == 0; }

template <class E>
void run_backward(const GpuProblem& p, const GpuBackward<typename Host<E>::T, float>& bw,
                  const BackwardWorkspace<typename Host<E>::T>& ws) {
  constexpr bool f32 = sizeof(E) == 4;
  LOGLIN_CHECK(backward_shape_ok(p.K, p.V, p.C, p.device, f32), "[{}] no {} backward kernel for K = {}, V = {}, chunk {}",
               kOp, f32 ? "f32 (TF32)" : "bf16", p.K, p.V, p.C);
  LOGLIN_CHECK(!bw.fwd.state_in && !bw.fwd.state_out && !bw.dstate_out && !bw.dstate_in,
               "[{}] states are not supported by the v2 backward yet", kOp);
  LOGLIN_CHECK(p.L <= kMaxL, "[{}] at most {} levels (level_scales columns), got {}", kOp, kMaxL, p.L);
  LOGLIN_CHECK(aligned16(bw.dq) && aligned16(bw.dk) && aligned16(bw.dv) && aligned16(bw.dout) &&
                   aligned16(ws.nodes) && aligned16(ws.dU) && aligned16(ws.dRp),
               "[{}] gradients, dout and the workspace must be 16-byte aligned", kOp);
  const auto& f = bw.fwd;  // G and the tree nodes are the forward's (its workspace)

  Args<E> a;
  a.q = reinterpret_cast<const E*>(f.q), a.k = reinterpret_cast<const E*>(f.k);
  a.v = reinterpret_cast<const E*>(f.v), a.ls = reinterpret_cast<const E*>(f.ls);
  a.dout = reinterpret_cast<const E*>(bw.dout);
  a.dq = reinterpret_cast<E*>(bw.dq), a.dk = reinterpret_cast<E*>(bw.dk), a.dv = reinterpret_cast<E*>(bw.dv);
  a.dls = reinterpret_cast<E*>(bw.dls);
  a.Gd = ws.Gd;
  a.nodes = reinterpret_cast<const E*>(ws.nodes);
  a.dRp = ws.dRp;
  a.dU = reinterpret_cast<E*>(ws.dU);
  a.dGrow = ws.dGrow;
  a.dg = bw.dg;
  a.slots = node_grad_slots(p);

  cudaStream_t st = cuda::stream(p.device);
  switch (p.K) {
    case 32: backward_k<32, E>(p, a, st); break;
    case 64: backward_k<64, E>(p, a, st); break;
    case 128: backward_k<128, E>(p, a, st); break;
    default: LOGLIN_FAIL("[{}] no backward kernel for K = {}", kOp, p.K);
  }
  bwd_dg_kernel<<<dim3(static_cast<unsigned>(p.n_seqs), static_cast<unsigned>(p.H)), kScanThreads, 0, st>>>(
      p, ws.dGrow, bw.dg);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

}  // namespace

int64_t node_grad_slots(const GpuProblem& p) { return kSmallSlots + (p.max_levels > 3 ? p.max_levels - 3 : 0); }

bool backward_shape_ok(int64_t K, int64_t V, int64_t C, int device, bool f32) {
  if (C != kC || !dim_ok(K) || !dim_ok(V) || device < 0 || device >= 64) return false;
  static std::atomic<int> optin[64] = {};  // the device's opt-in shared memory per block, 0 unknown
  int bytes = optin[device].load();
  if (bytes == 0) {
    if (cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device) != cudaSuccess) {
      (void)cudaGetLastError();
      return false;
    }
    optin[device].store(bytes);
  }
  const size_t need = f32 ? backward_smem_e<float>(K, V) : backward_smem_e<bf>(K, V);
  return need <= static_cast<size_t>(bytes) && need <= kSmemCompiled;
}

void backward_bf16(const GpuProblem& p, const GpuBackward<bf16, float>& bw, const BackwardWorkspace<bf16>& ws) {
  run_backward<bf>(p, bw, ws);
}

void backward_f32(const GpuProblem& p, const GpuBackward<float, float>& bw, const BackwardWorkspace<float>& ws) {
  run_backward<float>(p, bw, ws);
}

}  // namespace loglin::lla::v2

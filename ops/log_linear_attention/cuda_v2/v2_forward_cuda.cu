// v2 forward of log_linear_attention (KERNELS_PLAN.md "Forward: 4 launches"):
// bf16 tensor cores with f32 accumulators, g and every decay in f32. Launches, independent of T:
//   F0 cumdecay_wide_kernel (v2_common.cuh): G per row in double;
//   F1 fwd_state_kernel<K, V>: U(m) = K_m^T (exp(G_e - G_i) v_i), tree level 0,
//      stored in bf16; one block (4 warps) per (chunk, group, up to 4 heads);
//   F2 fwd_tree_kernel: levels >= 1 by one Fenwick walk over the chunks per
//      (sequence, head, element), f32 partials, nodes stored in bf16;
//   F3 fwd_chunk_kernel<K, V>: outputs; one block per (chunk, head), warp w
//      owns query rows 16w .. 16w + 15 of the chunk.
// F1 and F3 are register-resident (mma.sync + ldmatrix, v2_mma.cuh) with
// their next tiles prefetched by cp.async. Pitches are padded (+8 bf16)
// instead of the plan's XOR swizzle.
// Shared-memory tiles are indexed by "slot" = absolute position - n C, so
// slot xor slot == absolute xor (the level) and rows outside the sequence
// (first chunk of a continued sequence, last partial chunk) are zero-filled
// and never stored.
#include <atomic>
#include <type_traits>

#include "ops/log_linear_attention/cuda_v2/v2_common.cuh"
#include "ops/log_linear_attention/cuda_v2/v2_forward_cuda.h"

namespace loglin::lla::v2 {
namespace {

// ---- F1: per-chunk states ----

// Register-resident (v2_mma.cuh): a warp's share of U stays in mma.sync
// accumulators, exp(G_e - G_i) scales the V fragments in registers. A block
// takes one chunk and up to kStateHeads heads of one group: the K tile is
// loaded once for them, and head h + 1's V tile and row weights are in
// flight while head h is computed (one barrier per head).
constexpr int kStateHeads = 4;

template <int K, int V, class E>
struct StateLayout : WarpTiles<K, V> {
  static constexpr int ldk = K + kPad, ldv = V + kPad;
  static constexpr size_t k_off = 0;
  static constexpr size_t v_bytes = align128(sizeof(E) * kC * ldv);
  static constexpr size_t v_off = k_off + align128(sizeof(E) * kC * ldk);  // two heads' V tiles
  static constexpr size_t w_off = v_off + 2 * v_bytes;                       // two heads' row weights
  static constexpr size_t bytes = w_off + 2 * align128(sizeof(float) * kC);
};

// U(n) = sum_i k_i (exp(G_e - G_i) v_i)^T (K x V) into tree level 0, for the
// chunks n < n1 of each sequence (the last chunk is no node). Grid (n_jobs,
// G, ceil((H / G) / kStateHeads)).
template <int K, int V, class E>
__global__ void __launch_bounds__(kBlock) fwd_state_kernel(GpuProblem p, Fwd<E> f, E* nodes) {
  using Lt = StateLayout<K, V, E>;
  constexpr int PW = Lt::PW, ldk = Lt::ldk, ldv = Lt::ldv, WM = Lt::WM, WN = Lt::WN;
  extern __shared__ __align__(128) unsigned char smem[];
  E* Ks = reinterpret_cast<E*>(smem + Lt::k_off);
  auto Vbuf = [&](int64_t i) { return reinterpret_cast<E*>(smem + Lt::v_off + (i & 1) * Lt::v_bytes); };
  auto Wbuf = [&](int64_t i) { return reinterpret_cast<float*>(smem + Lt::w_off + (i & 1) * align128(sizeof(float) * kC)); };
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, qd = lane & 3, gq = lane >> 2;

  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t n = job.n, grp = blockIdx.y, per = p.H / p.G;
  if (n >= s.n1) return;  // block-uniform, before any barrier
  const int64_t h0 = grp * per + int64_t(blockIdx.z) * kStateHeads;
  const int64_t nh = gpu::imin(int64_t(kStateHeads), (grp + 1) * per - h0);
  const ChunkSlots cs = chunk_slots(s, n);
  const int64_t sqk = p.G * K, sv = p.H * V;
  const E* k = reinterpret_cast<const E*>(f.k) + s.row0 * sqk + grp * K;

  auto issue_head = [&](int64_t i) {  // V tile and row weights exp(G_e - G_t) of head h0 + i
    const int64_t h = h0 + i;
    const E* v = reinterpret_cast<const E*>(f.v) + s.row0 * sv + h * V;
    issue_tile<V>(Vbuf(i), ldv, kC, [&](int r) -> const E* { return cs.ok(r) ? v + (cs.base + r) * sv : nullptr; });
    if (tid < kC) {
      const double* Gd = f.Gd + s.row0 * p.H + h;  // row t at Gd[t * H]
      Wbuf(i)[tid] = cs.ok(tid) ? __expf(static_cast<float>(Gd[(cs.base + cs.hi - 1) * p.H] - Gd[(cs.base + tid) * p.H]))
                                : 0.0f;
    }
  };
  issue_tile<K>(Ks, ldk, kC, [&](int r) -> const E* { return cs.ok(r) ? k + (cs.base + r) * sqk : nullptr; });
  issue_head(0);

  for (int64_t i = 0; i < nh; ++i) {
    cp_async_wait_all();
    __syncthreads();  // head i's tile and weights are visible; head i - 1's buffers are free
    if (i + 1 < nh) issue_head(i + 1);
    const E* Vs = Vbuf(i);
    const float* W = Wbuf(i);
    E* out = nodes + (gpu::node_index(s, 0, n) * p.H + h0 + i) * static_cast<int64_t>(K * V);
#pragma unroll
    for (int pv = 0; pv < Lt::NP; ++pv) {
      Acc8 acc[WM][2 * WN];
#pragma unroll
      for (int a = 0; a < WM; ++a)
#pragma unroll
        for (int x = 0; x < 2 * WN; ++x) zero(acc[a][x]);
#pragma unroll
      for (int kk = 0; kk < kC / 16; ++kk) {
        const int t = kk * 16 + 2 * qd;
        const float w0 = W[t], w1 = W[t + 1], w8 = W[t + 8], w9 = W[t + 9];
        typename Frag<E>::B vb[WN];  // rows t of V scaled by exp(G_e - G_t), rounded to bf16 once
#pragma unroll
        for (int jn = 0; jn < WN; ++jn)
          vb[jn] = scale_rows(load_b_kn(Vs + kk * 16 * ldv + pv * PW + Lt::n_tile(warp, jn) * 16, ldv, lane), w0, w1, w8,
                              w9);
#pragma unroll
        for (int a = 0; a < WM; ++a) {
          const typename Frag<E>::A ka = load_a_trans(Ks + kk * 16 * ldk + Lt::m_tile(warp, a) * 16, ldk, lane);  // A[x][t] = K[t][x]
#pragma unroll
          for (int jn = 0; jn < WN; ++jn) mma2(&acc[a][2 * jn], ka, vb[jn]);
        }
      }
#pragma unroll
      for (int a = 0; a < WM; ++a)
#pragma unroll
        for (int x = 0; x < 2 * WN; ++x) {
          const int row = Lt::m_tile(warp, a) * 16 + gq;
          const int col = pv * PW + Lt::n_tile(warp, x / 2) * 16 + (x & 1) * 8 + 2 * qd;
          store_pair(out + static_cast<int64_t>(row) * V + col, acc[a][x].x[0], acc[a][x].x[1]);
          store_pair(out + static_cast<int64_t>(row + 8) * V + col, acc[a][x].x[2], acc[a][x].x[3]);
        }
    }
  }
}

// ---- F2: the tree levels >= 1 ----

constexpr int kTreeRing = 8;  // chunks per thread in F2's prefetch ring (7 in flight)

// One thread per (sequence, head, W elements of K x V; W = 4 or 2, the
// vector type VT), grid (n_seqs * H, ceil(K V / (256 W))): walks the chunks
// m = n0 .. n1 - 1 once. stk[j] holds node (j, a) with a even (its parent
// waits for the right sibling) in f32; when chunk m completes the right
// child (j, a), the parent is exp(G_end(j, a) - G_end(j, a - 1)) stk[j] + x
// (x alone when the left sibling lies before the sequence), as v1's
// tree_combine_kernel. The level loop is unrolled so that the stack stays in
// registers: ML levels (4, 6, 8, 12 or 16 by the sequences' depth), so that short
// sequences do not pay registers for levels they lack.
// The walk is a chain of dependent steps, but its loads (chunk state m and G
// at the chunk's end) are known in advance: each thread keeps them D - 1
// chunks ahead in its own shared-memory ring by cp.async, so that D - 1
// loads are in flight instead of one per step (the walk had left DRAM
// mostly idle). A thread reads only the ring slots it filled itself, so
// there are no barriers after level_offsets.
// Level J of F2's step for chunk m, and the levels above it while m's bit J
// is set (t = m's trailing one bits): recursion on J rather than a loop with
// a break, which nvcc does not unroll, so that the stack keeps static
// indices (registers) and a step runs only its own levels.
template <int J, int ML, class VT, class Node>
__device__ __forceinline__ void tree_climb(VT (&stk)[ML], double (&gstk)[ML], VT& x, double gm, int64_t m, int64_t n0,
                                           int t, const Node& node) {
  if constexpr (J < ML) {
    if (J == t) {
      stk[J] = x;
      gstk[J] = gm;
      return;
    }
    if ((m >> J) - 1 >= (n0 >> J)) axpy(__expf(static_cast<float>(gm - gstk[J])), stk[J], x);
    if constexpr (J + 1 < ML)
      if (J + 1 == t) store_into(node(J + 1, m >> (J + 1)), x);
    tree_climb<J + 1>(stk, gstk, x, gm, m, n0, t, node);
  }
}

template <int ML, int D, class VT, class E>
__global__ void __launch_bounds__(kTreeThreads, tree_blocks_per_sm(ML)) fwd_tree_kernel(GpuProblem p, const double* Gd_all, E* nodes) {
  constexpr int W = static_cast<int>(sizeof(VT) / sizeof(float));
  static_assert((D & (D - 1)) == 0, "ring depth a power of two");
  __shared__ int64_t loff[kMaxLevels];  // first table row of level j
  __shared__ __align__(16) E ring_u[D][kTreeThreads * W];
  __shared__ double ring_g[D][kTreeThreads];
  const int64_t seq = blockIdx.x / p.H, h = blockIdx.x % p.H;
  const GpuSeq s = p.seqs[seq];
  level_offsets(s, loff);
  const int64_t KV = p.K * p.V, e = (int64_t(blockIdx.y) * kTreeThreads + threadIdx.x) * W;
  if (e >= KV) return;  // no barriers below
  const double* Gd = Gd_all + s.row0 * p.H + h;
  auto node = [&](int j, int64_t a) { return nodes + ((loff[j] + (a - (s.n0 >> j))) * p.H + h) * KV + e; };
  // Ring slot of chunk m: its state, and G at its end (a run of level j
  // completed by chunk m ends there too, so each combine needs only this
  // value and the one saved when its left sibling was pushed, gstk).
  auto slot = [&](int64_t m) { return static_cast<int>((m - s.n0) & (D - 1)); };
  auto issue = [&](int64_t m) {  // one commit group per chunk, empty past the end
    if (m < s.n1) {
      cp_async_small<sizeof(E) * W>(&ring_u[slot(m)][threadIdx.x * W], node(0, m));
      cp_async_small<sizeof(double)>(&ring_g[slot(m)][threadIdx.x], Gd + gpu::node_last_row(s, 0, m, kC) * p.H);
    }
    cp_async_commit();
  };
#pragma unroll
  for (int d = 0; d < D - 1; ++d) issue(s.n0 + d);
  VT stk[ML];
  double gstk[ML];
  for (int64_t m = s.n0; m < s.n1; ++m) {
    // Chunk m - 1's slot is refilled only after this thread consumed it, in
    // program order (its values are already in registers).
    issue(m + D - 1);
    cp_async_wait_group<D - 1>();  // chunk m's group has landed
    VT x;
    load_into(x, &ring_u[slot(m)][threadIdx.x * W]);
    const double gm = ring_g[slot(m)][threadIdx.x];
    // Levels 0 .. t - 1 (m's trailing one bits) complete a right child:
    // combine with the left sibling; the parent at level t is stored (its
    // index is even, so it is read) and pushed there. t is block-uniform, so
    // the branches cost no divergence (predicating all ML levels every step
    // made the walk issue-bound at long T).
    const int t = __ffsll(static_cast<long long>(~m)) - 1;
    tree_climb<0>(stk, gstk, x, gm, m, s.n0, t, node);
  }
  cp_async_wait_group<0>();  // no copy may outlive the block
}

// ---- F3: outputs ----

// Register-resident (v2_mma.cuh): S, the masked scores P (as bf16 A
// fragments, kept for every V panel) and the O panel stay in mma.sync
// registers. Shared memory holds the Q tile, two node-panel buffers (the
// first shares its bytes with the K tile, which is dead once S is formed),
// one V panel and the scalars: the next node panel (and the next V panel) is
// in flight while the current one is used, one barrier per read. About
// 65 KiB at K = 128, V = 64: three blocks per SM.
template <int K, int V, class E>
struct ChunkLayout {
  static constexpr int PW = V < 64 ? V : 64;  // V panel width
  static constexpr int NP = V / PW;           // panels
  static constexpr int ldq = K + kPad;        // Q and K tiles [64][K]
  static constexpr int ldv = PW + kPad;       // V panel [64][PW], node panel [K][PW]
  static constexpr size_t kr_bytes = align128(sizeof(E) * (kC * ldq > K * ldv ? kC * ldq : K * ldv));
  static constexpr size_t q_off = 0;
  static constexpr size_t r1_off = q_off + align128(sizeof(E) * kC * ldq);  // the K tile, then node panels
  static constexpr size_t r0_off = r1_off + kr_bytes;
  static constexpr size_t v_off = r0_off + align128(sizeof(E) * K * ldv);
  static constexpr size_t sc_off = v_off + align128(sizeof(E) * kC * ldv);  // the head's scalars
  static constexpr size_t bytes = sc_off + kHeadScalarBytes;
  static_assert(V % PW == 0 && PW % 16 == 0 && K % 16 == 0, "head dims");
};

// o for the rows of one chunk job and head; grid (n_jobs, H). A node read
// adds (diag(w) Q_w) R with the row weights w_t = lambda_t[c + j + 1]
// exp(G_t - G_end) folded into the A fragments of Q_w. Lane (g, qd) of warp
// w holds rows tA = 16 w + g and tB = tA + 8 of every accumulator.
template <int K, int V, class E>
__global__ void __launch_bounds__(kBlock) fwd_chunk_kernel(GpuProblem p, Fwd<E> f, const E* nodes) {
  using Lt = ChunkLayout<K, V, E>;
  using FragA = typename Frag<E>::A;
  constexpr int PW = Lt::PW, ldq = Lt::ldq, ldv = Lt::ldv;
  extern __shared__ __align__(128) unsigned char smem[];
  E* Qs = reinterpret_cast<E*>(smem + Lt::q_off);
  E* Ks = reinterpret_cast<E*>(smem + Lt::r1_off);
  E* Vs = reinterpret_cast<E*>(smem + Lt::v_off);
  auto Rbuf = [&](int64_t i) { return reinterpret_cast<E*>(smem + ((i & 1) ? Lt::r1_off : Lt::r0_off)); };
  const HeadScalars hs = head_scalars_at(smem + Lt::sc_off);
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, qd = lane & 3;
  const int tA = warp * 16 + (lane >> 2), tB = tA + 8;

  const GpuChunk job = p.jobs[blockIdx.x];
  const GpuSeq s = p.seqs[job.seq];
  const int64_t h = blockIdx.y, n = job.n;
  const ChunkSlots cs = chunk_slots(s, n);
  const bool okA = cs.ok(tA), okB = cs.ok(tB);
  const int64_t grp = h / (p.H / p.G), sqk = p.G * K, sv = p.H * V, sls = p.H * p.L;
  const E* q = reinterpret_cast<const E*>(f.q) + s.row0 * sqk + grp * K;
  const E* k = reinterpret_cast<const E*>(f.k) + s.row0 * sqk + grp * K;
  const E* v = reinterpret_cast<const E*>(f.v) + s.row0 * sv + h * V;
  const E* ls = reinterpret_cast<const E*>(f.ls) + s.row0 * sls + h * p.L;
  E* o = reinterpret_cast<E*>(f.o) + s.row0 * sv + h * V;
  const double* Gd = f.Gd + s.row0 * p.H + h;

  uint64_t reads = 0;  // bit jb: chunk n reads node (jb, (n >> jb) - 1)
  for (int jb = 0; jb < 62 && (n >> jb) != 0; ++jb)
    if (gpu::reads_node(s, n, jb)) reads |= 1ull << jb;
  const int nr = __popcll(reads), first_read = __ffsll(static_cast<long long>(reads)) - 1;
  auto issue_v = [&](int pv) {
    issue_tile<PW>(Vs, ldv, kC, [&](int r) -> const E* { return cs.ok(r) ? v + (cs.base + r) * sv + pv * PW : nullptr; });
  };
  auto issue_read = [&](int pv, int jb, E* dst) {  // panel pv of node (jb, (n >> jb) - 1)
    const E* R = nodes + (gpu::node_index(s, jb, (n >> jb) - 1) * p.H + h) * static_cast<int64_t>(K * V) + pv * PW;
    issue_tile<PW>(dst, ldv, K, [&](int x) -> const E* { return R + static_cast<int64_t>(x) * V; });
  };

  issue_tile<K>(Qs, ldq, kC, [&](int r) -> const E* { return cs.ok(r) ? q + (cs.base + r) * sqk : nullptr; });
  issue_tile<K>(Ks, ldq, kC, [&](int r) -> const E* { return cs.ok(r) ? k + (cs.base + r) * sqk : nullptr; });
  issue_v(0);
  if (nr > 0) issue_read(0, first_read, Rbuf(0));
  load_head_scalars(p, s, cs, f.Gd, reinterpret_cast<const E*>(f.ls), h, hs);
  cp_async_wait_all();
  __syncthreads();

  // S = Q_w K_n^T, then P = S o W (W[t, s] = lambda_t[level] exp(G_t - G_s), s <= t) as A fragments.
  FragA P[4];
  {
    Acc8 S[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) zero(S[j]);
    rows_times_rows_t<K>(S, Qs + warp * 16 * ldq, Ks, ldq, lane, [&](int j2) { return j2 <= warp; });
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
          float w = 0.0f;
          if ((e < 2 ? okA : okB) && c <= t && c >= cs.lo)
            w = hs.lam[t * 8 + (32 - __clz(t ^ c))] * __expf(hs.G[t] - hs.G[c]);
          S[j].x[e] *= w;
        }
      a_from_acc(P[j2], S[2 * j2], S[2 * j2 + 1]);
    }
  }
  const double GdA = hs.Gd[tA], GdB = hs.Gd[tB];

  for (int pv = 0; pv < Lt::NP; ++pv) {
    if (pv > 0) {
      cp_async_wait_all();
      __syncthreads();  // V panel pv is visible
    }
    // O = P V_n (16 x PW).
    Acc8 O[PW / 8];
#pragma unroll
    for (int y = 0; y < PW / 8; ++y) zero(O[y]);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
      if (kk <= warp)
#pragma unroll
        for (int y2 = 0; y2 < PW / 16; ++y2) mma2(&O[2 * y2], P[kk], load_b_kn(Vs + kk * 16 * ldv + y2 * 16, ldv, lane));
    if (nr == 0 && pv + 1 < Lt::NP) {
      __syncthreads();  // every warp is done with the V panel
      issue_v(pv + 1);
    }

    // Node reads: O += (diag(w) Q_w) R.
    int jb = first_read;
    for (int i = 0; i < nr; ++i, jb = next_bit(reads, jb)) {
      const int64_t ri = int64_t(pv) * nr + i;
      cp_async_wait_all();
      __syncthreads();  // read ri's panel is visible; read ri - 1's buffer (or the K tile) and the V panel are free
      if (i == 0 && pv + 1 < Lt::NP) issue_v(pv + 1);
      if (i + 1 < nr) issue_read(pv, next_bit(reads, jb), Rbuf(ri + 1));
      else if (pv + 1 < Lt::NP) issue_read(pv + 1, first_read, Rbuf(ri + 1));
      const E* Rs = Rbuf(ri);
      const double Ge = Gd[gpu::node_last_row(s, jb, (n >> jb) - 1, kC) * p.H];
      const int lev = static_cast<int>(p.c) + jb + 1;
      const float wA = okA ? to_f(ls[(cs.base + tA) * sls + lev]) * __expf(static_cast<float>(GdA - Ge)) : 0.0f;
      const float wB = okB ? to_f(ls[(cs.base + tB) * sls + lev]) * __expf(static_cast<float>(GdB - Ge)) : 0.0f;
#pragma unroll
      for (int kk = 0; kk < K / 16; ++kk) {
        const FragA a = scale_rows(load_a(Qs + warp * 16 * ldq + kk * 16, ldq, lane), wA, wB);
#pragma unroll
        for (int y2 = 0; y2 < PW / 16; ++y2) mma2(&O[2 * y2], a, load_b_kn(Rs + kk * 16 * ldv + y2 * 16, ldv, lane));
      }
    }

    // The valid rows of the panel.
    store_rows<PW / 8>(O, okA ? o + (cs.base + tA) * sv + pv * PW : nullptr,
                            okB ? o + (cs.base + tB) * sv + pv * PW : nullptr, lane);
  }
}

// ---- F4: the final state (prefill for decoding) ----

// levels[n, h, l] of the final state (SPEC section 4; v1's
// final_state_kernel without an initial state): for the last position c of
// each sequence, the rows of its chunk by level (levels <= log2 C, binned in
// registers), plus the nodes its chunk reads (one level each), all decayed
// to c. Grid (n_seqs * H, ceil(K V / (kFinalThreads kFinalElems))), each
// thread kFinalElems elements of K x V (so that the staging is amortised);
// the block first stages the last chunk's k and v rows, their decays
// exp(G_c - G_i) and levels in shared memory.
// Forward-only in v2: a call that wants a gradient through the final state
// runs v1 (v2's supports()).
constexpr int kChunkLevels = 7;  // levels 0 .. log2(64) inside one chunk
constexpr int kFinalThreads = 256;
constexpr int kFinalElems = 8;

template <class E>
size_t final_state_smem(int64_t K, int64_t V) {
  return sizeof(E) * kC * static_cast<size_t>(K + V);
}

template <class E>
__global__ void __launch_bounds__(kFinalThreads) fwd_final_state_kernel(GpuProblem p, Fwd<E> f, const E* nodes) {
  extern __shared__ __align__(128) unsigned char smem[];
  __shared__ float w_s[kC];
  __shared__ int m_s[kC];
  const int64_t K = p.K, V = p.V, KV = K * V, L = p.L;
  const int64_t seq = blockIdx.x / p.H, h = blockIdx.x % p.H;
  const GpuSeq s = p.seqs[seq];
  const int64_t grp = h / (p.H / p.G), last = s.len - 1, c_abs = s.pos + last;
  const int64_t i0 = gpu::first_row(s, s.n1, p.C);
  const int nr = static_cast<int>(s.len - i0);  // rows of the last chunk, 1 .. 64
  const double* Gd = f.Gd + s.row0 * p.H + h;   // row t at Gd[t * H]
  const double Gl = Gd[last * p.H];
  E* k_s = reinterpret_cast<E*>(smem);  // [nr][K]
  E* v_s = k_s + kC * K;                // [nr][V]
  const E* k = reinterpret_cast<const E*>(f.k) + s.row0 * p.G * K + grp * K;
  const E* v = reinterpret_cast<const E*>(f.v) + s.row0 * p.H * V + h * V;
  for (int64_t u = threadIdx.x; u < nr * K; u += blockDim.x) k_s[u] = k[(i0 + u / K) * p.G * K + u % K];
  for (int64_t u = threadIdx.x; u < nr * V; u += blockDim.x) v_s[u] = v[(i0 + u / V) * p.H * V + u % V];
  if (threadIdx.x < nr) {
    const int64_t i = i0 + threadIdx.x;
    w_s[threadIdx.x] = __expf(static_cast<float>(Gl - Gd[i * p.H]));
    m_s[threadIdx.x] = gpu::level_of(s.pos + i, c_abs);
  }
  __syncthreads();
  const int64_t e_end = gpu::imin(KV, int64_t(blockIdx.y + 1) * kFinalThreads * kFinalElems);
  for (int64_t e = int64_t(blockIdx.y) * kFinalThreads * kFinalElems + threadIdx.x; e < e_end; e += kFinalThreads) {
    const int64_t x = e / V, y = e % V;
    float in_chunk[kChunkLevels];
#pragma unroll
    for (int l = 0; l < kChunkLevels; ++l) in_chunk[l] = 0.0f;
    for (int r = 0; r < nr; ++r) {
      const float term = w_s[r] * to_f(k_s[r * K + x]) * to_f(v_s[r * V + y]);
      const int m = m_s[r];
#pragma unroll
      for (int l = 0; l < kChunkLevels; ++l)
        if (l == m) in_chunk[l] += term;
    }
    float* F = f.state_out + (seq * p.H + h) * L * KV + e;
    for (int64_t l = 0; l < L; ++l) {
      float acc = 0.0f;
#pragma unroll
      for (int m = 0; m < kChunkLevels; ++m)
        if (m == l) acc = in_chunk[m];
      const int jb = static_cast<int>(l) - static_cast<int>(p.c) - 1;  // the node level l holds, if any
      if (jb >= 0 && (s.n1 >> jb) != 0 && gpu::reads_node(s, s.n1, jb)) {
        const int64_t a = (s.n1 >> jb) - 1;
        const double Ge = Gd[gpu::node_last_row(s, jb, a, p.C) * p.H];
        acc += __expf(static_cast<float>(Gl - Ge)) * to_f(nodes[(gpu::node_index(s, jb, a) * p.H + h) * KV + e]);
      }
      F[l * KV] = acc;
    }
  }
}

// ---- launchers ----

// F1 and F2: tree level 0 (the chunk states) and the levels above it.
template <int K, int V, class E>
void tree_kv(const GpuProblem& p, const Fwd<E>& f, E* nodes, cudaStream_t st) {
  if (p.n_nodes == 0) return;
  constexpr size_t s1 = StateLayout<K, V, E>::bytes;
  allow_smem(fwd_state_kernel<K, V, E>, s1);
  const int64_t slices = (p.H / p.G + kStateHeads - 1) / kStateHeads;
  fwd_state_kernel<K, V, E><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.G), static_cast<unsigned>(slices)),
                              kBlock, s1, st>>>(p, f, nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
  const int64_t KV = int64_t(K) * V;
  auto grid = [&](int width) {
    const int64_t per_block = int64_t(kTreeThreads) * width;
    return dim3(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>((KV + per_block - 1) / per_block));
  };
  // The stack's depth by the deepest sequence: fewer registers, more blocks
  // per SM. f32 nodes walk 2 elements per thread: 4 would take the ring past
  // the 48 KiB of static shared memory.
  using V4 = std::conditional_t<sizeof(E) == 2, Vec4, Vec>;
  constexpr int w4 = sizeof(V4) / sizeof(float);
  if (p.max_levels <= 4) fwd_tree_kernel<4, kTreeRing, V4, E><<<grid(w4), kTreeThreads, 0, st>>>(p, f.Gd, nodes);
  else if (p.max_levels <= 6) fwd_tree_kernel<6, kTreeRing, V4, E><<<grid(w4), kTreeThreads, 0, st>>>(p, f.Gd, nodes);
  else if (p.max_levels <= 8) fwd_tree_kernel<8, kTreeRing, V4, E><<<grid(w4), kTreeThreads, 0, st>>>(p, f.Gd, nodes);
  else if (p.max_levels <= 12) fwd_tree_kernel<12, kTreeRing, V4, E><<<grid(w4), kTreeThreads, 0, st>>>(p, f.Gd, nodes);
  else fwd_tree_kernel<kMaxLevels, kTreeRing, Vec, E><<<grid(2), kTreeThreads, 0, st>>>(p, f.Gd, nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <int K, int V, class E>
void forward_kv(const GpuProblem& p, const Fwd<E>& f, E* nodes, cudaStream_t st) {
  tree_kv<K, V, E>(p, f, nodes, st);
  constexpr size_t s3 = ChunkLayout<K, V, E>::bytes;
  allow_smem(fwd_chunk_kernel<K, V, E>, s3);
  fwd_chunk_kernel<K, V, E><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H)), kBlock, s3, st>>>(
      p, f, nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (f.state_out) {
    // Always opt in: its static shared memory counts against the 48 KiB default too.
    const size_t s4 = final_state_smem<E>(K, V);
    LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(fwd_final_state_kernel<E>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(s4)),
                      kOp);
    const int64_t per_block = int64_t(kFinalThreads) * kFinalElems;
    const dim3 grid(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>((K * V + per_block - 1) / per_block));
    fwd_final_state_kernel<E><<<grid, kFinalThreads, s4, st>>>(p, f, nodes);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
}

// f32 stops at 128: its 256-wide tiles do not fit in shared memory.
template <int K, class E>
void forward_k(const GpuProblem& p, const Fwd<E>& f, E* nodes, cudaStream_t st) {
  switch (p.V) {
    case 32: return forward_kv<K, 32, E>(p, f, nodes, st);
    case 64: return forward_kv<K, 64, E>(p, f, nodes, st);
    case 128: return forward_kv<K, 128, E>(p, f, nodes, st);
    case 256:
      if constexpr (sizeof(E) == 2) return forward_kv<K, 256, E>(p, f, nodes, st);
      [[fallthrough]];
    default: LOGLIN_FAIL("[{}] no kernel for V = {}", kOp, p.V);
  }
}

// F0, F1, F2, F3.
template <class E>
void run_forward(const GpuProblem& p, const Fwd<E>& f, E* nodes) {
  LOGLIN_CHECK(forward_shape_ok(p.K, p.V, p.C, sizeof(E) == 4), "[{}] no {} kernel for K = {}, V = {}, chunk {}", kOp,
               sizeof(E) == 4 ? "f32 (TF32)" : "bf16", p.K, p.V, p.C);
  LOGLIN_CHECK(!f.state_in, "[{}] an initial state is not supported by v2 yet", kOp);
  LOGLIN_CHECK(p.max_levels <= kMaxLevels, "[{}] at most {} tree levels (positions below {}), got {}", kOp, kMaxLevels,
               int64_t(kC) << kMaxLevels, p.max_levels);
  cudaStream_t st = cuda::stream(p.device);
  cumdecay_wide_kernel<<<dim3(static_cast<unsigned>(p.n_seqs), static_cast<unsigned>(p.H)), kScanThreads, 0, st>>>(
      p, f.g, f.Gd);
  LOGLIN_CUDA_LAUNCHED(kOp);
  switch (p.K) {
    case 32: return forward_k<32, E>(p, f, nodes, st);
    case 64: return forward_k<64, E>(p, f, nodes, st);
    case 128: return forward_k<128, E>(p, f, nodes, st);
    case 256:
      if constexpr (sizeof(E) == 2) return forward_k<256, E>(p, f, nodes, st);
      [[fallthrough]];
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

bool forward_shape_ok(int64_t K, int64_t V, int64_t C, bool f32) {
  auto dim_ok = [&](int64_t d) { return d == 32 || d == 64 || d == 128 || (d == 256 && !f32); };
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
  run_forward<bf>(p, f, reinterpret_cast<bf*>(nodes));
}

void forward_f32(const GpuProblem& p, const GpuForward<float, float>& f, float* nodes) {
  LOGLIN_CHECK(aligned16(f.q) && aligned16(f.k) && aligned16(f.v) && aligned16(f.o) && aligned16(nodes),
               "[{}] q, k, v, o and the workspace must be 16-byte aligned", kOp);
  run_forward<float>(p, f, nodes);
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

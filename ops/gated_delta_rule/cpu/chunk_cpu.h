// The chunked CPU forward and backward of the gated delta rule and its
// log-linear form (SPEC-gated-deltanet.md section 4), on raw arrays. The top
// of this file is the interface an entry point calls; the rest is internal to
// ops/gated_delta_rule/cpu/, shared by chunk_forward_cpu.cpp and
// chunk_backward_cpu.cpp so that both read chunks, levels and states the same
// way. ../README.md explains the algorithm with these names.
//
// Per (sequence, head), chunk by chunk (chunks aligned to absolute multiples
// of C, ChunkGrid): the WY form of the chunk (ChunkWY, build_chunk), its
// intra-chunk output, and a scan over chunks that keeps the level states
// (LevelStates) of every earlier source, re-buckets them at each aligned
// chunk start, reads them through Q~, moves them across the chunk and adds the
// chunk's own sources.
#pragma once
#include <Eigen/Core>
#include <bit>
#include <cstdint>
#include <vector>

#include "ops/chunk_layout/layout.h"
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace loglin::gdr {

// ---- the interface ----

// All arrays contiguous, in the compute type T (float or double):
//   q, k [rows, G, K]; v, o [rows, H, V]; g, beta [rows, H]; ls [rows, H, L];
//   states [N, H, Ls, K, V] with Ls = lay.L for the log-linear form and
//   Ls = 1 for the plain gated delta rule (ls == null: every lambda is 1).
// lay.seqs[n].pos is the absolute position of sequence n's first token (the
// tokens its initial state consumed). The state's levels bucket the consumed
// sources by level from position pos - 1, as GatedDeltaState and
// LogLinearState do; a state at position 0 is read as if its sources sat at
// position 0, as the recurrence of ops/gated_delta_rule/reference.cpp does.
template <class T>
struct ForwardArgs {
  const T *q = nullptr, *k = nullptr, *v = nullptr, *g = nullptr, *beta = nullptr;
  const T* ls = nullptr;        // [rows, H, L], or null: the plain form
  const T* state_in = nullptr;  // [N, H, Ls, K, V], or null: zero
  T* o = nullptr;               // [rows, H, V]
  T* state_out = nullptr;       // [N, H, Ls, K, V], or null when not asked
};

// Every gradient is assigned (not accumulated). dq, dk are summed over each
// group's heads in head order, so the result does not depend on threading.
template <class T>
struct BackwardArgs {
  ForwardArgs<T> fwd;             // the forward's inputs (o and state_out are not read)
  const T* dout = nullptr;        // [rows, H, V]
  const T* dstate_out = nullptr;  // [N, H, Ls, K, V], or null: no gradient on the final state
  T *dq = nullptr, *dk = nullptr;  // [rows, G, K]
  T *dv = nullptr;                 // [rows, H, V]
  T *dg = nullptr, *dbeta = nullptr;  // [rows, H]
  T* dls = nullptr;                // [rows, H, L]; null for the plain form
  T* dstate_in = nullptr;          // [N, H, Ls, K, V], or null when not needed
};

// Both throw loglin::Error when the log-linear form has more than 64 levels
// (LevelStates keeps one bit per level; 64 levels reach position 2^63).
template <class T>
void chunk_forward_cpu(const lla::Layout& lay, const ForwardArgs<T>& a);
template <class T>
void chunk_backward_cpu(const lla::Layout& lay, const BackwardArgs<T>& a);

// ---- internals: Eigen views ----

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using CMap = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MMap = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using Col = Eigen::Matrix<T, Eigen::Dynamic, 1>;

// ---- internals: denormals ----

// Flushes denormal results and operands to zero on the calling thread while
// it lives, then restores the thread's mode. The level states of old
// sources decay towards 0: at g ~ -0.025 they fall below f32's 1e-38 after
// about 3500 tokens, and arithmetic on denormals made the log-linear forward
// twice as slow at T = 8192. Values that small are far below rounding of
// the O(1) sums they enter. A no-op where SSE2 is not available.
class FlushDenormals {
 public:
  FlushDenormals() {
#if defined(__SSE2__)
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#endif
  }
  ~FlushDenormals() {
#if defined(__SSE2__)
    _mm_setcsr(saved_);
#endif
  }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
};

// ---- internals: one (sequence, head) ----

// The inputs of one (sequence, head), rows local to the sequence (row i is
// absolute position pos + i).
template <class T>
struct HeadView {
  int64_t len = 0, pos = 0, K = 0, V = 0;
  int64_t Ls = 1;  // state slots: L, or 1 for the plain form
  int c = 6;       // C = 2^c
  const T *q = nullptr, *k = nullptr, *v = nullptr, *g = nullptr, *beta = nullptr, *ls = nullptr;
  int64_t sqk = 0, sv = 0, sg = 0, sls = 0;  // row strides

  HeadView(const lla::Layout& lay, const lla::Seq& s, int64_t h, const ForwardArgs<T>& a)
      : len(s.len), pos(s.pos), K(lay.K), V(lay.V), Ls(a.ls ? lay.L : 1), c(lay.c) {
    const int64_t grp = lay.group_of(h);
    sqk = lay.G * lay.K;
    sv = lay.H * lay.V;
    sg = lay.H;
    sls = lay.H * lay.L;
    q = a.q + s.row0 * sqk + grp * lay.K;
    k = a.k + s.row0 * sqk + grp * lay.K;
    v = a.v + s.row0 * sv + h * lay.V;
    g = a.g + s.row0 * sg + h;
    beta = a.beta + s.row0 * sg + h;
    if (a.ls) ls = a.ls + s.row0 * sls + h * lay.L;
  }
  bool plain() const { return ls == nullptr; }
  CMap<T> Q(int64_t r0, int64_t n) const { return CMap<T>(q + r0 * sqk, n, K, Eigen::OuterStride<>(sqk)); }
  CMap<T> Kr(int64_t r0, int64_t n) const { return CMap<T>(k + r0 * sqk, n, K, Eigen::OuterStride<>(sqk)); }
  CMap<T> Vr(int64_t r0, int64_t n) const { return CMap<T>(v + r0 * sv, n, V, Eigen::OuterStride<>(sv)); }
  T gate(int64_t i) const { return g[i * sg]; }
  T b(int64_t i) const { return beta[i * sg]; }
  T lambda(int64_t i, int l) const { return ls ? ls[i * sls + l] : T(1); }
  // The state slot of a source at level l: the level itself, or 0 when plain.
  int slot(int l) const { return ls ? l : 0; }
};

// ---- internals: the WY form of one chunk (SPEC section 4) ----

// Rows r0 .. r0+nr-1 of the sequence; r, j below are rows 0..nr-1 of the
// chunk. gamma_r = g_0 + ... + g_r counts from the chunk's first row, in
// double. Every matrix is built by build_chunk (chunk_forward_cpu.cpp).
template <class T>
struct ChunkWY {
  int64_t r0 = 0, nr = 0;
  std::vector<double> gam;  // gamma (nr)
  Col<T> bet, eg, el;       // beta, exp(gamma), exp(gamma_last - gamma)   (nr)
  T decay = 1;              // exp(gamma_last): a state crossing the chunk
  RowMat<T> Gam;            // Gamma[r, j] = exp(gamma_r - gamma_j), j <= r; 0 above   (nr x nr)
  RowMat<T> QK, KK;         // Q K^T, K K^T                                           (nr x nr)
  RowMat<T> Tm;             // (I + M)^{-1}, M = strictly_lower(diag(beta)(Gamma o K K^T))
  RowMat<T> Aqk;            // lower(Gamma o Q K^T), diagonal included
  RowMat<T> AT;             // Aqk Tm; AT diag(beta) is the weight of source j in output r
  RowMat<T> U, W;           // Tm diag(beta) V (nr x V); Tm diag(beta exp(gamma)) K (nr x K)
  RowMat<T> Qt, Kt;         // Q~ = diag(exp gamma) Q - Aqk W; K~ = diag(exp(gamma_last - gamma)) K  (nr x K)
};

template <class T>
void build_chunk(const HeadView<T>& hv, int64_t r0, int64_t r1, ChunkWY<T>& w);

// Lam[r, j] = lambda_r[level(r, j)] over the chunk's rows, j <= r; 0 above
// (nr x nr). Log-linear form only.
template <class T>
void level_mask(const HeadView<T>& hv, int64_t r0, int64_t nr, RowMat<T>& Lam) {
  Lam.setZero(nr, nr);
  for (int64_t r = 0; r < nr; ++r) {
    const int64_t t = hv.pos + r0 + r;
    for (int64_t j = 0; j <= r; ++j) Lam(r, j) = hv.lambda(r0 + r, lla::level_of(t, hv.pos + r0 + j));
  }
}

// ---- internals: the scan's level states ----

// The level states of one (sequence, head) between two chunks: Ls slots of
// K x V. Before chunk n (whose first row follows position b), slot l holds
// sum of beta_s P(b, s) k_s v_s^T over the earlier sources s at level l from
// b; queries t of chunk n see slot l at level max(level(t, b), l).
// Exception: the sources of the chunk just passed (levels <= c from b) are
// lumped into slot 0, since every aligned chunk start merges all slots up to
// level c + 1 or more. `live` marks the slots that may be nonzero; the others
// are skipped (and hold zeros).
template <class T>
struct LevelStates {
  int64_t Ls = 1, K = 0, V = 0;
  std::vector<T> buf;  // Ls x K x V
  uint64_t live = 0;   // bit l: slot l is in use

  LevelStates(int64_t Ls_, int64_t K_, int64_t V_)
      : Ls(Ls_), K(K_), V(V_), buf(static_cast<size_t>(Ls_ * K_ * V_), T(0)) {}
  bool has(int l) const { return (live >> l) & 1; }
  MMap<T> at(int l) { return MMap<T>(buf.data() + l * K * V, K, V, Eigen::OuterStride<>(V)); }
  CMap<T> at(int l) const { return CMap<T>(buf.data() + l * K * V, K, V, Eigen::OuterStride<>(V)); }
  // Slot l in use, zeroed if it was not.
  MMap<T> use(int l) {
    if (!has(l)) at(l).setZero();
    live |= uint64_t{1} << l;
    return at(l);
  }
  void drop(int l) {
    if (has(l)) at(l).setZero();
    live &= ~(uint64_t{1} << l);
  }
  // Re-bucket at an aligned chunk start: slots 0..M-1 join slot M.
  void merge_into(int M) {
    for (int l = 0; l < M; ++l) {
      if (!has(l)) continue;
      use(M) += at(l);
      drop(l);
    }
  }
};

// The slots fit LevelStates::live (checked before any task starts).
void check_slots(const lla::Layout& lay, bool log_linear);

// The level every query row of a chunk starting at row r0 uses as its
// reference for the states: b = pos + r0 - 1 (the position before the chunk),
// or 0 for the first chunk of a call at position 0 (see ForwardArgs).
inline int64_t state_ref(int64_t pos, int64_t r0) { return pos + r0 > 0 ? pos + r0 - 1 : 0; }

// The slot every state level below it joins at the start of a chunk whose
// first row is r0: level(nC, nC - 1) when that row starts an aligned chunk
// after position 0, else -1 (no merge: the call's partial first chunk, whose
// rows see the initial state level by level). Always -1 when plain.
template <class T>
int merge_level(const HeadView<T>& hv, int64_t r0) {
  const int64_t t = hv.pos + r0;
  if (hv.plain() || t == 0 || (t & ((int64_t{1} << hv.c) - 1)) != 0) return -1;
  return lla::level_of(t, t - 1);
}

// Calls f(i0, i1, m) for the runs of rows [r0, r1) of a chunk that see every
// state slot l <= m at level m and the slots l > m at level l. An aligned
// chunk is a single run; the partial first chunk of a call has one run per
// level from pos - 1.
template <class T, class F>
void for_each_read_run(const HeadView<T>& hv, int64_t r0, int64_t r1, F&& f) {
  if (hv.plain()) {
    f(r0, r1, 0);
    return;
  }
  lla::for_each_level_run(r0, r1, hv.pos, state_ref(hv.pos, r0), f);
}

// Calls f(i0, i1, m) for the runs of the last chunk's rows [r0, len) whose
// sources sit at level m from the last position (slot 0 when plain).
template <class T, class F>
void for_each_final_run(const HeadView<T>& hv, int64_t r0, F&& f) {
  if (hv.plain()) {
    f(r0, hv.len, 0);
    return;
  }
  lla::for_each_level_run(r0, hv.len, hv.pos, hv.pos + hv.len - 1, f);
}

// The level of slot l's sources from the last position, for the final state:
// max(level(last, b), l) with b the state reference of the last chunk.
template <class T>
int final_slot(const HeadView<T>& hv, int64_t r0_last, int l) {
  if (hv.plain()) return 0;
  const int m = lla::level_of(hv.pos + hv.len - 1, state_ref(hv.pos, r0_last));
  return m > l ? m : l;
}

// The initial state of one (sequence, head) as scan slots: all Ls slots in
// use when `all` (its gradient is wanted), else the nonzero ones.
template <class T>
void load_initial_state(const T* S, bool all, LevelStates<T>& Z) {
  const int64_t kv = Z.K * Z.V;
  for (int l = 0; l < Z.Ls; ++l) {
    bool nonzero = all;
    for (int64_t e = 0; e < kv && !nonzero; ++e) nonzero = S[l * kv + e] != T(0);
    if (nonzero) Z.use(l) = CMap<T>(S + l * kv, Z.K, Z.V, Eigen::OuterStride<>(Z.V));
  }
}

// Whether the slots in use cross the chunk cheaper through the K x K matrix
// A = exp(gamma_last) I - K~^T W (K^2 nr once, then K^2 V per slot) than
// directly, S -> exp(gamma_last) S - K~^T (W S) (2 nr K V per slot). At
// K = V = C the matrix wins from two slots on; the plain form has one.
inline bool cross_through_matrix(int64_t nr, int64_t K, int64_t V, int slots) {
  return K * K * nr + slots * K * K * V < 2 * slots * nr * K * V;
}

// The chunk's transition as a K x K matrix: A = exp(gamma_last) I - K~^T W.
template <class T>
void chunk_transition(const ChunkWY<T>& w, RowMat<T>& A) {
  A.noalias() = -(w.Kt.transpose() * w.W);
  A.diagonal().array() += w.decay;
}

// Every slot in use crosses the chunk: S -> A S.
template <class T>
void cross_chunk(const ChunkWY<T>& w, LevelStates<T>& Z, RowMat<T>& X) {
  const int slots = std::popcount(Z.live);
  if (slots == 0) return;
  if (cross_through_matrix(w.nr, Z.K, Z.V, slots)) {
    RowMat<T> A;
    chunk_transition(w, A);
    for (int l = 0; l < Z.Ls; ++l) {
      if (!Z.has(l)) continue;
      X.noalias() = A * Z.at(l);
      Z.at(l) = X;
    }
    return;
  }
  for (int l = 0; l < Z.Ls; ++l) {
    if (!Z.has(l)) continue;
    auto S = Z.at(l);
    X.noalias() = w.W * S;
    S *= w.decay;
    S.noalias() -= w.Kt.transpose() * X;
  }
}

}  // namespace loglin::gdr

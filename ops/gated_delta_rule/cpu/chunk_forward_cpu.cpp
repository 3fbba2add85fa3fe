// The chunked forward of the gated delta rule and its log-linear form on the
// CPU (SPEC-gated-deltanet.md section 4). Per (sequence, head), one OpenMP
// task each, the chunks in order (chunks aligned to absolute multiples of C;
// the first and last of a call may be partial):
//   1. at an aligned chunk start, re-bucket the scan's level states: every
//      slot below M = level(nC, nC - 1) joins slot M (merge_level);
//   2. the chunk's WY form (build_chunk): Gamma, Tm = (I + M)^{-1} by forward
//      substitution, U, W, Aqk, Q~, K~;
//   3. the intra-chunk output ((Aqk Tm diag(beta)) o Lam) V, the level mask
//      applied after the product;
//   4. each state slot read through Q~ with lambda_r[level] (for the partial
//      first chunk, row runs by their level from pos - 1);
//   5. every slot crosses the chunk, S -> exp(gamma_last) S - K~^T (W S)
//      (or through that K x K matrix when it is cheaper, cross_chunk), and
//      the chunk's own sources E = K~^T U land in slot 0;
//   6. after the last chunk, if asked, the final state: the slots at their
//      level from the last position, plus the last chunk's own sources split
//      by level.
// This is the scan placement: O(log T) states per head, no tree (README.md
// counts why). Cumulative decays are in double; Eigen does the products.
#include "core/error.h"
#include "ops/gated_delta_rule/cpu/chunk_cpu.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace loglin::gdr {

void check_slots(const lla::Layout& lay, bool log_linear) {
  LOGLIN_CHECK(!log_linear || lay.L <= 64,
               "[gated_delta_rule] the chunked CPU code keeps at most 64 levels (positions below 2^63), got L = {}",
               lay.L);
}

template <class T>
void build_chunk(const HeadView<T>& hv, int64_t r0, int64_t r1, ChunkWY<T>& w) {
  // rows [r0, r1) of q, k (nr, K), v (nr, V) -> the chunk's WY form.
  const int64_t nr = r1 - r0;
  const auto Q = hv.Q(r0, nr);
  const auto Kc = hv.Kr(r0, nr);
  const auto Vc = hv.Vr(r0, nr);
  w.r0 = r0;
  w.nr = nr;
  w.gam.resize(static_cast<size_t>(nr));
  double acc = 0;
  for (int64_t i = 0; i < nr; ++i) w.gam[i] = acc += static_cast<double>(hv.gate(r0 + i));
  const double last = w.gam[nr - 1];
  w.bet.resize(nr);
  w.eg.resize(nr);
  w.el.resize(nr);
  for (int64_t i = 0; i < nr; ++i) {
    w.bet[i] = hv.b(r0 + i);
    w.eg[i] = static_cast<T>(std::exp(w.gam[i]));
    w.el[i] = static_cast<T>(std::exp(last - w.gam[i]));
  }
  w.decay = static_cast<T>(std::exp(last));

  // Gamma and the two score matrices; every decay is exp of a difference <= 0.
  w.Gam.setZero(nr, nr);
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t j = 0; j <= r; ++j) w.Gam(r, j) = static_cast<T>(std::exp(w.gam[r] - w.gam[j]));
  w.QK.noalias() = Q * Kc.transpose();
  w.KK.noalias() = Kc * Kc.transpose();

  // Tm = (I + M)^{-1}: M lives strictly below the diagonal, so I + M is unit
  // lower triangular and forward substitution inverts it exactly, one row at
  // a time: Tm[r, :r] = -M[r, :r] Tm[:r, :r] (a vector-matrix product per
  // row, nr^3 / 6 in all; Eigen's blocked solve against I was 5x slower).
  RowMat<T> M = RowMat<T>::Zero(nr, nr);
  for (int64_t r = 0; r < nr; ++r)
    for (int64_t j = 0; j < r; ++j) M(r, j) = w.bet[r] * w.Gam(r, j) * w.KK(r, j);
  w.Tm.setIdentity(nr, nr);
  for (int64_t r = 1; r < nr; ++r)
    w.Tm.row(r).head(r).noalias() = -(M.row(r).head(r) * w.Tm.topLeftCorner(r, r));

  w.U.noalias() = w.Tm * (w.bet.asDiagonal() * Vc);
  w.W.noalias() = w.Tm * ((w.bet.cwiseProduct(w.eg)).asDiagonal() * Kc);
  w.Aqk = w.Gam.cwiseProduct(w.QK);  // Gamma is 0 above the diagonal
  w.AT.noalias() = w.Aqk * w.Tm;
  w.Qt.noalias() = w.eg.asDiagonal() * Q;
  w.Qt.noalias() -= w.Aqk * w.W;
  w.Kt.noalias() = w.el.asDiagonal() * Kc;
}

namespace {

// o rows of the chunk (nr, V) = ((Aqk Tm diag(beta)) o Lam) V: the level mask
// goes on the product, since a source's weight mixes rows of every level.
template <class T>
void intra_output(const HeadView<T>& hv, const ChunkWY<T>& w, RowMat<T>& On) {
  RowMat<T> Bl = w.AT * w.bet.asDiagonal();
  if (!hv.plain()) {
    RowMat<T> Lam;
    level_mask(hv, w.r0, w.nr, Lam);
    Bl = Bl.cwiseProduct(Lam);
  }
  On.noalias() = Bl * hv.Vr(w.r0, w.nr);
}

// o rows += lambda_r[level] S^T q~_r for every slot in use: per run of rows,
// the slots <= m summed and read at level m, the slots above at their own.
template <class T>
void read_states(const HeadView<T>& hv, const ChunkWY<T>& w, const LevelStates<T>& Z, RowMat<T>& On) {
  if (Z.live == 0) return;
  RowMat<T> P(Z.K, Z.V), X;
  auto add = [&](int64_t i0, int64_t i1, int l, const auto& S) {
    X.noalias() = w.Qt.middleRows(i0 - w.r0, i1 - i0) * S;
    for (int64_t i = i0; i < i1; ++i) On.row(i - w.r0) += hv.lambda(i, l) * X.row(i - i0);
  };
  for_each_read_run(hv, w.r0, w.r0 + w.nr, [&](int64_t i0, int64_t i1, int m) {
    int below = 0;
    P.setZero();
    for (int l = 0; l <= m && l < Z.Ls; ++l)
      if (Z.has(l)) P += Z.at(l), ++below;
    if (below) add(i0, i1, m, P);
    for (int l = m + 1; l < Z.Ls; ++l)
      if (Z.has(l)) add(i0, i1, l, Z.at(l));
  });
}

// The final state F (Ls, K, V): the slots Z, already across the last chunk,
// at their level from the last position, plus the last chunk's own sources,
// F[m] += Y_run^T diag(beta) V_run with Y = Tm^T K~ (source s's column of
// the chunk's state: P(last, s) k_s = y_s).
template <class T>
void final_state(const HeadView<T>& hv, const ChunkWY<T>& w, const LevelStates<T>& Z, T* F) {
  const int64_t K = hv.K, V = hv.V, kv = K * V;
  std::fill(F, F + hv.Ls * kv, T(0));
  auto Fl = [&](int l) { return MMap<T>(F + l * kv, K, V, Eigen::OuterStride<>(V)); };
  for (int l = 0; l < Z.Ls; ++l)
    if (Z.has(l)) Fl(final_slot(hv, w.r0, l)) += Z.at(l);
  const RowMat<T> Y = w.Tm.transpose() * w.Kt;  // (nr, K)
  for_each_final_run(hv, w.r0, [&](int64_t i0, int64_t i1, int m) {
    const int64_t a = i0 - w.r0, n = i1 - i0;
    Fl(m).noalias() += Y.middleRows(a, n).transpose() * (w.bet.segment(a, n).asDiagonal() * hv.Vr(i0, n));
  });
}

template <class T>
void forward_head(const lla::Layout& lay, const ForwardArgs<T>& args, int64_t seq, int64_t h) {
  // q, k (len, K) and v, o (len, V) rows of sequence `seq`, head h.
  const FlushDenormals ftz;
  const lla::Seq& s = lay.seqs[seq];
  const HeadView<T> hv(lay, s, h, args);
  const lla::ChunkGrid grid(lay, s);
  const int64_t state_off = (seq * lay.H + h) * hv.Ls * lay.K * lay.V;
  LevelStates<T> Z(hv.Ls, lay.K, lay.V);
  if (args.state_in) load_initial_state(args.state_in + state_off, false, Z);

  MMap<T> O(args.o + s.row0 * lay.H * lay.V + h * lay.V, s.len, lay.V, Eigen::OuterStride<>(lay.H * lay.V));
  ChunkWY<T> w;
  RowMat<T> On, X;
  for (int64_t n = grid.n0; n <= grid.n1; ++n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n);
    if (const int M = merge_level(hv, r0); M >= 0) Z.merge_into(M);
    build_chunk(hv, r0, r1, w);
    intra_output(hv, w, On);
    read_states(hv, w, Z, On);
    O.middleRows(r0, r1 - r0) = On;
    if (n == grid.n1 && !args.state_out) break;
    cross_chunk(w, Z, X);
    if (n < grid.n1) {
      Z.use(0).noalias() += w.Kt.transpose() * w.U;  // E: levels <= c from the chunk's end
    } else {
      final_state(hv, w, Z, args.state_out + state_off);
    }
  }
}

}  // namespace

template <class T>
void chunk_forward_cpu(const lla::Layout& lay, const ForwardArgs<T>& args) {
  // q, k (rows,G,K); v, o (rows,H,V); g, beta (rows,H); ls (rows,H,L); states (N,H,Ls,K,V).
  check_slots(lay, args.ls != nullptr);
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * lay.H;
  // One (sequence, head) per task; dynamic because varlen sequences differ in length.
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
  for (int64_t job = 0; job < jobs; ++job) forward_head(lay, args, job / lay.H, job % lay.H);
}

template void build_chunk<float>(const HeadView<float>&, int64_t, int64_t, ChunkWY<float>&);
template void build_chunk<double>(const HeadView<double>&, int64_t, int64_t, ChunkWY<double>&);
template void chunk_forward_cpu<float>(const lla::Layout&, const ForwardArgs<float>&);
template void chunk_forward_cpu<double>(const lla::Layout&, const ForwardArgs<double>&);

}  // namespace loglin::gdr

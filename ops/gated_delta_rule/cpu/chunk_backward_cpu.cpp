// The chunked backward of the gated delta rule and its log-linear form on the
// CPU, written by hand: reverse mode of chunk_forward_cpu.cpp, exact. Per
// (sequence, head), one OpenMP task each:
//   1. re-run the forward's scan (merge, cross, add E) and keep the level
//      states at every chunk start (scan_states), O(NT log T K V) memory;
//   2. walk the chunks backwards carrying dZ, the adjoint of the level states
//      after the chunk. For each chunk, rebuilt by build_chunk:
//      - the final state (last chunk) or E's slot 0 (others) give dZ's start
//        and the adjoints of K~, U and the last chunk's own sources;
//      - the crossing S -> exp(gamma_last) S - K~^T (W S) sends dZ to the
//        chunk start and collects dK~, dW, dgamma_last from
//        Sigma = sum_l S_l dS_l^T (one K x K matrix for all levels);
//      - the reads add Q~^T diag(lambda) dO to dZ and give dQ~, dlambda;
//      - the intra-chunk product gives dV, dlambda and d(Aqk Tm diag beta);
//      - wy_backward takes every adjoint of the WY form back to q, k, v,
//        beta and the chunk-local gamma, through the triangular solve
//        (dM = -Tm^T dTm Tm^T, strictly lower) and Gamma, then
//        dg = reverse cumulative sum of dgamma inside the chunk;
//      - the merge at the chunk start, undone: every merged slot gets the
//        gradient of the slot it joined;
//   3. what is left in dZ is the initial state's gradient.
// dq and dk are per head first, then summed over each group's heads in head
// order (lla::reduce_heads_to_groups): deterministic.
#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "ops/gated_delta_rule/cpu/chunk_cpu.h"

namespace loglin::gdr {
namespace {

// ---- the forward's states, kept for the reverse walk ----

// The scan's slots at one chunk's start, as the forward read them: the
// slots in use, packed in level order (K x V each).
template <class T>
struct ChunkStart {
  int merged = -1;        // the slot M the lower slots joined at this start, or -1
  uint64_t live_pre = 0;  // slots in use before that merge
  uint64_t live = 0;      // after it
  std::vector<T> packed;

  void pack(const LevelStates<T>& Z) {
    const int64_t kv = Z.K * Z.V;
    live = Z.live;
    packed.resize(static_cast<size_t>(std::popcount(live) * kv));
    T* dst = packed.data();
    for (int l = 0; l < Z.Ls; ++l)
      if (Z.has(l)) dst = std::copy_n(Z.buf.data() + l * kv, kv, dst);
  }
  // Z becomes these slots (the slots not in use zeroed).
  void unpack(LevelStates<T>& Z) const {
    const int64_t kv = Z.K * Z.V;
    const T* src = packed.data();
    for (int l = 0; l < Z.Ls; ++l) {
      if ((live >> l) & 1) {
        std::copy_n(src, kv, Z.buf.data() + l * kv);
        src += kv;
      } else if (Z.has(l)) {
        Z.at(l).setZero();
      }
    }
    Z.live = live;
  }
};

// Re-runs the forward's scan and keeps every chunk's start.
template <class T>
std::vector<ChunkStart<T>> scan_states(const HeadView<T>& hv, const lla::ChunkGrid& grid, LevelStates<T> Z) {
  std::vector<ChunkStart<T>> out(static_cast<size_t>(grid.n1 - grid.n0 + 1));
  ChunkWY<T> w;
  RowMat<T> X;
  for (int64_t n = grid.n0; n <= grid.n1; ++n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n);
    ChunkStart<T>& cs = out[n - grid.n0];
    cs.live_pre = Z.live;
    cs.merged = merge_level(hv, r0);
    if (cs.merged >= 0) Z.merge_into(cs.merged);
    cs.pack(Z);
    if (n == grid.n1) break;
    build_chunk(hv, r0, r1, w);
    cross_chunk(w, Z, X);
    Z.use(0).noalias() += w.Kt.transpose() * w.U;
  }
  return out;
}

// ---- adjoints ----

// The adjoints of one chunk's WY quantities (names as in ChunkWY, with d).
template <class T>
struct ChunkAdj {
  RowMat<T> dQt, dW, dKt, dU, dTm, dB;  // dB: of Aqk Tm diag(beta)
  Col<T> dbet;
  std::vector<double> dgam;

  void reset(int64_t nr, int64_t K, int64_t V) {
    dQt.setZero(nr, K);
    dW.setZero(nr, K);
    dKt.setZero(nr, K);
    dU.setZero(nr, V);
    dTm.setZero(nr, nr);
    dB.setZero(nr, nr);
    dbet.setZero(nr);
    dgam.assign(static_cast<size_t>(nr), 0.0);
  }
};

// The gradient rows of one (sequence, head): dq, dk per head, dv, dg, dbeta,
// dlevel_scales.
template <class T>
struct HeadGrads {
  MMap<T> dQ, dK, dV;  // (len, K), (len, K), (len, V)
  T *dg, *dbeta;       // row i at [i * sg]
  T* dls;              // row i, level l at [i * sls + l]; null when plain
  int64_t sg, sls;
  T& dlambda(int64_t i, int l) { return dls[i * sls + l]; }
};

// ---- the pieces of the reverse walk, last applied first ----

// The last chunk with a final-state gradient dF (Ls, K, V): the crossed
// slots went to F[final_slot(l)], so dZ[l] = dF[final_slot(l)]; the chunk's
// own sources went to F[m] += Y_run^T diag(beta) V_run with Y = Tm^T K~.
template <class T>
void final_state_backward(const HeadView<T>& hv, const ChunkWY<T>& w, const LevelStates<T>& Zs, const T* dF,
                          LevelStates<T>& dZ, ChunkAdj<T>& a, HeadGrads<T>& gr) {
  const int64_t K = hv.K, V = hv.V, kv = K * V;
  auto dFl = [&](int l) { return CMap<T>(dF + l * kv, K, V, Eigen::OuterStride<>(V)); };
  for (int l = 0; l < Zs.Ls; ++l)
    if (Zs.has(l)) dZ.use(l) = dFl(final_slot(hv, w.r0, l));
  const RowMat<T> Y = w.Tm.transpose() * w.Kt;  // (nr, K)
  RowMat<T> dY = RowMat<T>::Zero(w.nr, K), X;
  for_each_final_run(hv, w.r0, [&](int64_t i0, int64_t i1, int m) {
    const int64_t r = i0 - w.r0, n = i1 - i0;
    const auto Vr = hv.Vr(i0, n);
    X.noalias() = Y.middleRows(r, n) * dFl(m);  // (n, V)
    for (int64_t i = 0; i < n; ++i) {
      gr.dV.row(i0 + i) += w.bet[r + i] * X.row(i);
      a.dbet[r + i] += X.row(i).dot(Vr.row(i));
    }
    dY.middleRows(r, n).noalias() = w.bet.segment(r, n).asDiagonal() * (Vr * dFl(m).transpose());
  });
  a.dTm.noalias() += w.Kt * dY.transpose();
  a.dKt.noalias() += w.Tm * dY;
}

// The crossing, reversed: dZ holds the adjoint of the slots after the chunk
// and leaves with that of Zs, the slots at its start: dS <- A^T dS with
// A = exp(gamma_last) I - K~^T W (applied as a matrix or directly, as the
// forward chose). With Sigma = sum_l S_l dS_l^T: dK~ -= W Sigma,
// dW -= K~ Sigma^T, dgamma_last += exp(gamma_last) trace(Sigma).
template <class T>
void cross_chunk_backward(const ChunkWY<T>& w, const LevelStates<T>& Zs, LevelStates<T>& dZ, ChunkAdj<T>& a) {
  const int64_t K = Zs.K;
  RowMat<T> Sigma = RowMat<T>::Zero(K, K), X, A;
  int slots = 0;
  for (int l = 0; l < Zs.Ls; ++l) {
    if (!Zs.has(l)) {
      dZ.drop(l);
    } else if (!dZ.has(l)) {
      dZ.use(l);  // zero: the reads may still add to it
    } else {
      Sigma.noalias() += Zs.at(l) * dZ.at(l).transpose();
      ++slots;
    }
  }
  if (slots == 0) return;
  const bool matrix = cross_through_matrix(w.nr, K, Zs.V, std::popcount(Zs.live));
  if (matrix) chunk_transition(w, A);
  for (int l = 0; l < Zs.Ls; ++l) {
    if (!Zs.has(l)) continue;
    auto dS = dZ.at(l);
    if (matrix) {
      X.noalias() = A.transpose() * dS;
      dS = X;
    } else {
      X.noalias() = w.Kt * dS;  // (nr, V)
      dS *= w.decay;
      dS.noalias() -= w.W.transpose() * X;
    }
  }
  a.dKt.noalias() -= w.W * Sigma;
  a.dW.noalias() -= w.Kt * Sigma.transpose();
  a.dgam[w.nr - 1] += static_cast<double>(w.decay) * static_cast<double>(Sigma.trace());
}

// The reads, reversed: per run and slot group read at level l with the
// matrix S, X = dO S^T gives dQ~ += diag(lambda_l) X and
// dlambda_l = rowdot(X, Q~); dS = Q~^T diag(lambda_l) dO goes to every slot
// that S sums.
template <class T>
void read_backward(const HeadView<T>& hv, const ChunkWY<T>& w, const LevelStates<T>& Zs, const CMap<T>& dO,
                   LevelStates<T>& dZ, ChunkAdj<T>& a, HeadGrads<T>& gr) {
  if (Zs.live == 0) return;
  RowMat<T> P(Zs.K, Zs.V), X, D, Lq;
  auto one = [&](int64_t i0, int64_t i1, int l, const auto& S) {
    const int64_t r = i0 - w.r0, n = i1 - i0;
    const auto dOr = dO.middleRows(i0, n);
    X.noalias() = dOr * S.transpose();  // (n, K)
    Lq = w.Qt.middleRows(r, n);
    for (int64_t i = 0; i < n; ++i) {
      const T lam = hv.lambda(i0 + i, l);
      if (!hv.plain()) gr.dlambda(i0 + i, l) += X.row(i).dot(Lq.row(i));
      a.dQt.row(r + i) += lam * X.row(i);
      Lq.row(i) *= lam;
    }
    D.noalias() = Lq.transpose() * dOr;  // (K, V)
  };
  for_each_read_run(hv, w.r0, w.r0 + w.nr, [&](int64_t i0, int64_t i1, int m) {
    int below = 0;
    P.setZero();
    for (int l = 0; l <= m && l < Zs.Ls; ++l)
      if (Zs.has(l)) P += Zs.at(l), ++below;
    if (below) {
      one(i0, i1, m, P);
      for (int l = 0; l <= m && l < Zs.Ls; ++l)
        if (Zs.has(l)) dZ.at(l) += D;
    }
    for (int l = m + 1; l < Zs.Ls; ++l) {
      if (!Zs.has(l)) continue;
      one(i0, i1, l, Zs.at(l));
      dZ.at(l) += D;
    }
  });
}

// The intra-chunk output O = ((AT diag beta) o Lam) V, reversed: dV, the
// intra-chunk dlambda, and dB (of AT diag beta).
template <class T>
void intra_backward(const HeadView<T>& hv, const ChunkWY<T>& w, const CMap<T>& dO, ChunkAdj<T>& a,
                    HeadGrads<T>& gr) {
  const int64_t r0 = w.r0, nr = w.nr;
  const auto dOn = dO.middleRows(r0, nr);
  const RowMat<T> B = w.AT * w.bet.asDiagonal();
  a.dB.noalias() = dOn * hv.Vr(r0, nr).transpose();
  a.dB.template triangularView<Eigen::StrictlyUpper>().setZero();
  if (hv.plain()) {
    gr.dV.middleRows(r0, nr).noalias() += B.transpose() * dOn;
    return;
  }
  RowMat<T> Lam;
  level_mask(hv, r0, nr, Lam);
  gr.dV.middleRows(r0, nr).noalias() += B.cwiseProduct(Lam).transpose() * dOn;
  for (int64_t r = 0; r < nr; ++r) {
    const int64_t t = hv.pos + r0 + r;
    for (int64_t j = 0; j <= r; ++j) gr.dlambda(r0 + r, lla::level_of(t, hv.pos + r0 + j)) += a.dB(r, j) * B(r, j);
  }
  a.dB = a.dB.cwiseProduct(Lam);
}

// Every adjoint of the WY form back to the chunk's q, k, v, beta and g:
//   B = Aqk Tm diag(beta), Q~ = diag(e^gamma) Q - Aqk W, U = Tm diag(beta) V,
//   W = Tm diag(beta e^gamma) K, K~ = diag(e^(gamma_last - gamma)) K,
//   Tm = (I + M)^{-1}, M = strictly_lower(diag(beta)(Gamma o K K^T)),
//   Aqk = lower(Gamma o Q K^T), Gamma[r, j] = e^(gamma_r - gamma_j),
//   gamma = cumulative g inside the chunk.
template <class T>
void wy_backward(const HeadView<T>& hv, const ChunkWY<T>& w, ChunkAdj<T>& a, HeadGrads<T>& gr) {
  const int64_t r0 = w.r0, nr = w.nr;
  const auto Q = hv.Q(r0, nr);
  const auto Kc = hv.Kr(r0, nr);
  const auto Vc = hv.Vr(r0, nr);
  auto dQ = gr.dQ.middleRows(r0, nr);
  auto dK = gr.dK.middleRows(r0, nr);
  auto dV = gr.dV.middleRows(r0, nr);
  std::vector<double>& dgam = a.dgam;
  RowMat<T> X, dAqk;

  // B = Aqk Tm diag(beta).
  X.noalias() = w.Aqk.transpose() * a.dB;  // d(Tm diag beta)
  for (int64_t s = 0; s < nr; ++s) a.dbet[s] += w.Tm.col(s).dot(X.col(s));
  a.dTm.noalias() += X * w.bet.asDiagonal();
  dAqk.noalias() = (a.dB * w.bet.asDiagonal()) * w.Tm.transpose();

  // Q~ = diag(e^gamma) Q - Aqk W.
  dQ.noalias() += w.eg.asDiagonal() * a.dQt;
  for (int64_t r = 0; r < nr; ++r) dgam[r] += static_cast<double>(w.eg[r] * Q.row(r).dot(a.dQt.row(r)));
  dAqk.noalias() -= a.dQt * w.W.transpose();
  a.dW.noalias() -= w.Aqk.transpose() * a.dQt;

  // U = Tm diag(beta) V.
  a.dTm.noalias() += a.dU * (w.bet.asDiagonal() * Vc).transpose();
  X.noalias() = w.Tm.transpose() * a.dU;  // (nr, V)
  for (int64_t j = 0; j < nr; ++j) {
    a.dbet[j] += X.row(j).dot(Vc.row(j));
    dV.row(j) += w.bet[j] * X.row(j);
  }

  // W = Tm diag(beta e^gamma) K.
  a.dTm.noalias() += a.dW * ((w.bet.cwiseProduct(w.eg)).asDiagonal() * Kc).transpose();
  X.noalias() = w.Tm.transpose() * a.dW;  // (nr, K)
  for (int64_t j = 0; j < nr; ++j) {
    const T s = w.eg[j] * X.row(j).dot(Kc.row(j));
    dK.row(j) += (w.bet[j] * w.eg[j]) * X.row(j);
    a.dbet[j] += s;
    dgam[j] += static_cast<double>(w.bet[j] * s);
  }

  // K~ = diag(e^(gamma_last - gamma)) K.
  for (int64_t j = 0; j < nr; ++j) {
    const double t = static_cast<double>(w.el[j] * Kc.row(j).dot(a.dKt.row(j)));
    dK.row(j) += w.el[j] * a.dKt.row(j);
    dgam[nr - 1] += t;
    dgam[j] -= t;
  }

  // Tm = (I + M)^{-1}: dM = -Tm^T dTm Tm^T on M's strictly lower support.
  X.noalias() = w.Tm.transpose() * a.dTm;
  RowMat<T> dM = -(X * w.Tm.transpose());

  // M = strictly_lower(diag(beta)(Gamma o KK)) and Aqk = lower(Gamma o QK):
  // dGamma o Gamma goes to gamma as +row sums -column sums.
  RowMat<T> dKK = RowMat<T>::Zero(nr, nr), dQK = RowMat<T>::Zero(nr, nr);
  std::vector<double> colsum(static_cast<size_t>(nr), 0.0);
  for (int64_t r = 0; r < nr; ++r) {
    double rowsum = 0;
    for (int64_t j = 0; j <= r; ++j) {
      const T G = w.Gam(r, j);
      T dG = dAqk(r, j) * w.QK(r, j);
      dQK(r, j) = dAqk(r, j) * G;
      if (j < r) {
        const T dm = dM(r, j);
        a.dbet[r] += dm * G * w.KK(r, j);
        dG += dm * w.bet[r] * w.KK(r, j);
        dKK(r, j) = dm * w.bet[r] * G;
      }
      const double d = static_cast<double>(dG * G);
      rowsum += d;
      colsum[j] += d;
    }
    dgam[r] += rowsum;
  }
  for (int64_t j = 0; j < nr; ++j) dgam[j] -= colsum[j];

  // KK = K K^T, QK = Q K^T.
  dK.noalias() += dKK * Kc;
  dK.noalias() += dKK.transpose() * Kc;
  dK.noalias() += dQK.transpose() * Q;
  dQ.noalias() += dQK * Kc;

  // gamma_r = g_0 + ... + g_r inside the chunk: dg is the reverse cumulative sum.
  double acc = 0;
  for (int64_t j = nr - 1; j >= 0; --j) {
    acc += dgam[j];
    gr.dg[(r0 + j) * gr.sg] = static_cast<T>(acc);
    gr.dbeta[(r0 + j) * gr.sg] = a.dbet[j];
  }
}

// The merge at a chunk start, reversed: every slot below M that joined M gets
// M's gradient; M keeps it only if it was in use before.
template <class T>
void unmerge(const ChunkStart<T>& cs, LevelStates<T>& dZ) {
  const int M = cs.merged;
  if (M < 0 || !dZ.has(M)) return;
  for (int l = 0; l < M; ++l)
    if ((cs.live_pre >> l) & 1) dZ.use(l) = dZ.at(M);
  if (!((cs.live_pre >> M) & 1)) dZ.drop(M);
}

template <class T>
void backward_head(const lla::Layout& lay, const BackwardArgs<T>& args, T* dq_head, T* dk_head, int64_t seq,
                   int64_t h) {
  // q, k (len, K); v, dO (len, V) rows of sequence `seq`, head h.
  const FlushDenormals ftz;
  const ForwardArgs<T>& f = args.fwd;
  const lla::Seq& s = lay.seqs[seq];
  const HeadView<T> hv(lay, s, h, f);
  const lla::ChunkGrid grid(lay, s);
  const int64_t H = lay.H, K = lay.K, V = lay.V, Ls = hv.Ls, kv = K * V;
  const int64_t state_off = (seq * H + h) * Ls * kv;
  const bool want_dstate = args.dstate_in != nullptr;

  LevelStates<T> Z0(Ls, K, V);
  if (f.state_in) load_initial_state(f.state_in + state_off, want_dstate, Z0);
  const uint64_t live0 = Z0.live;
  const std::vector<ChunkStart<T>> starts = scan_states(hv, grid, std::move(Z0));

  const CMap<T> dO(args.dout + s.row0 * H * V + h * V, s.len, V, Eigen::OuterStride<>(H * V));
  HeadGrads<T> gr{MMap<T>(dq_head + s.row0 * H * K + h * K, s.len, K, Eigen::OuterStride<>(H * K)),
                  MMap<T>(dk_head + s.row0 * H * K + h * K, s.len, K, Eigen::OuterStride<>(H * K)),
                  MMap<T>(args.dv + s.row0 * H * V + h * V, s.len, V, Eigen::OuterStride<>(H * V)),
                  args.dg + s.row0 * H + h,
                  args.dbeta + s.row0 * H + h,
                  args.dls ? args.dls + (s.row0 * H + h) * lay.L : nullptr,
                  H,
                  H * lay.L};
  gr.dQ.setZero();
  gr.dK.setZero();
  gr.dV.setZero();
  if (gr.dls)
    for (int64_t i = 0; i < s.len; ++i) std::fill_n(gr.dls + i * gr.sls, lay.L, T(0));

  LevelStates<T> Zs(Ls, K, V);  // the slots at the start of the chunk being undone
  LevelStates<T> dZ(Ls, K, V);  // the adjoint of the slots after it
  ChunkWY<T> w;
  ChunkAdj<T> a;
  for (int64_t n = grid.n1; n >= grid.n0; --n) {
    const ChunkStart<T>& cs = starts[n - grid.n0];
    cs.unpack(Zs);
    build_chunk(hv, grid.first_row(n), grid.end_row(n), w);
    a.reset(w.nr, K, V);
    if (n == grid.n1) {
      if (args.dstate_out) final_state_backward(hv, w, Zs, args.dstate_out + state_off, dZ, a, gr);
    } else if (dZ.has(0)) {  // E = K~^T U went to slot 0
      a.dU.noalias() += w.Kt * dZ.at(0);
      a.dKt.noalias() += w.U * dZ.at(0).transpose();
    }
    cross_chunk_backward(w, Zs, dZ, a);
    read_backward(hv, w, Zs, dO, dZ, a, gr);
    intra_backward(hv, w, dO, a, gr);
    wy_backward(hv, w, a, gr);
    unmerge(cs, dZ);
  }

  if (want_dstate) {
    T* out = args.dstate_in + state_off;
    for (int l = 0; l < Ls; ++l) {
      MMap<T> dst(out + l * kv, K, V, Eigen::OuterStride<>(V));
      if ((live0 >> l) & 1) dst = dZ.at(l);
      else dst.setZero();
    }
  }
}

}  // namespace

template <class T>
void chunk_backward_cpu(const lla::Layout& lay, const BackwardArgs<T>& args) {
  // dq, dk (rows,G,K); dv (rows,H,V); dg, dbeta (rows,H); dls (rows,H,L); dstate_in (N,H,Ls,K,V).
  check_slots(lay, args.fwd.ls != nullptr);
  const int64_t H = lay.H, K = lay.K;
  // Per-head dq, dk (rows, H, K) so the tasks write disjoint rows.
  std::vector<T> dq_head(static_cast<size_t>(lay.rows * H * K)), dk_head(dq_head.size());
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * H;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
  for (int64_t job = 0; job < jobs; ++job)
    backward_head(lay, args, dq_head.data(), dk_head.data(), job / H, job % H);
  lla::reduce_heads_to_groups(lay, lay.G, dq_head.data(), dk_head.data(), args.dq, args.dk);
}

template void chunk_backward_cpu<float>(const lla::Layout&, const BackwardArgs<float>&);
template void chunk_backward_cpu<double>(const lla::Layout&, const BackwardArgs<double>&);

}  // namespace loglin::gdr

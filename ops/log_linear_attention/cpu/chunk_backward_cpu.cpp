// The chunked backward of log-linear attention on the CPU, written by hand:
// the model the CUDA backward kernel follows. Per (sequence, head) it walks
// the forward's pieces in reverse:
//   - intra-chunk: dA = dO V^T gives dq, dk, dv and the lambda gradients of
//     the levels inside a chunk;
//   - each range a chunk reads: dq += w * (dO R^T), dlambda from the same
//     product, and the node gradient dR += (w Q)^T dO;
//   - the initial state's levels (dq, dlambda, and d(levels) if wanted);
//   - the final state's gradient: into the last chunk's k, v, into the nodes
//     chunk n1 reads and into the initial levels;
//   - the transposed tree pushes each dR down to the per-chunk dU(m), which
//     gives dk = diag(decay) V dU^T and dv = diag(decay) K dU;
//   - dg from the SPEC's identity dG_t = do_t.o_t - v_t.dv_t (plus <dF, F> on
//     the last row), reverse-cumulated. No T x T work.
// dq and dk are per head first, then summed over the heads of each group in
// head order (deterministic).
#include <optional>
#include <utility>

#include "ops/log_linear_attention/cpu/chunk_cpu.h"

namespace loglin::lla {
namespace {

// Per-head gradient rows of one sequence.
template <class T>
struct HeadGrads {
  MMap<T> dQ, dK, dV;  // (len, K), (len, K), (len, V)
  T* dls;              // row i, level l at dls[i * sls + l]
  int64_t sls;
  T dlambda(int64_t i, int l) const { return dls[i * sls + l]; }
  T& dlambda(int64_t i, int l) { return dls[i * sls + l]; }
};

// Transposed tree: each node's gradient flows to its right child unchanged
// and to its left child times the same decay the forward combine used.
template <class T>
void push_down(RangeTree<T>& dtree, const std::vector<double>& Gd) {
  for (int j = dtree.levels() - 1; j >= 1; --j) {
    for (int64_t a = dtree.first(j); a < dtree.first(j) + dtree.count(j); ++a) {
      const int64_t left = 2 * a, right = 2 * a + 1;
      dtree.mat(j - 1, right) += dtree.mat(j, a);
      if (dtree.has(j - 1, left)) {
        const double decay = std::exp(Gd[dtree.last_row(j - 1, right)] - Gd[dtree.last_row(j - 1, left)]);
        dtree.mat(j - 1, left) += static_cast<T>(decay) * dtree.mat(j, a);
      }
    }
  }
}

// The rows [i0, i1) that read a K x V matrix R with per-row weight
// lambda_i[level] * e_i: dq += w dO R^T, dlambda_i[level] += e_i q_i.(dO_i R^T),
// and, when dR is given, dR += (w Q)^T dO.
template <class T, class RMap, class DRMap>
void read_backward(const HeadView<T>& hv, HeadGrads<T>& gr, const CMap<T>& dO, int64_t i0, int64_t i1, int level,
                   const std::vector<double>& e, const RMap* R, DRMap* dR, RowMat<T>& X) {
  const int64_t nr = i1 - i0;
  const auto Qr = hv.Q(i0, nr);
  if (R) {
    X.noalias() = dO.middleRows(i0, nr) * R->transpose();
    for (int64_t i = 0; i < nr; ++i) {
      const T ei = static_cast<T>(e[i]);
      gr.dQ.row(i0 + i) += (hv.lambda(i0 + i, level) * ei) * X.row(i);
      gr.dlambda(i0 + i, level) += ei * X.row(i).dot(Qr.row(i));
    }
  }
  if (dR) {
    X = Qr;
    for (int64_t i = 0; i < nr; ++i) X.row(i) *= hv.lambda(i0 + i, level) * static_cast<T>(e[i]);
    dR->noalias() += X.transpose() * dO.middleRows(i0, nr);
  }
}

template <class T>
void backward_head(const Layout& lay, const BackwardArgs<T>& args, T* dq_head, T* dk_head, int64_t seq, int64_t h) {
  // q, k (len, K); v, o, dO (len, V) rows of sequence `seq`, head h.
  const ForwardArgs<T>& f = args.fwd;
  const Seq& s = lay.seqs[seq];
  const int64_t K = lay.K, V = lay.V, L = lay.L, kv = K * V;
  const HeadView<T> hv(lay, s, h, f.q, f.k, f.v, f.g, f.ls);
  const std::vector<double> Gd = cumulative_decay(hv);
  const ChunkGrid grid(lay, s);
  RangeTree<T> tree(grid, K, V), dtree(grid, K, V);
  build_range_tree(tree, grid, hv, Gd);

  const int64_t state_off = (seq * lay.H + h) * L * kv;
  std::optional<InitialLevels<T>> st;
  if (f.state_in && s.pos > 0) st.emplace(f.state_in + state_off, L, K, V);
  // Gradients of the prefix sums P[m] and of each level; dS[l] = dlevel[l] + sum_{m >= l} dP[m].
  const bool want_dstate = args.dstate_in != nullptr;
  std::vector<T> dP, dS;
  if (want_dstate) {
    dP.assign(static_cast<size_t>(L * kv), T(0));
    dS.assign(static_cast<size_t>(L * kv), T(0));
  }
  auto dmat = [&](std::vector<T>& buf, int64_t l) { return MMap<T>(buf.data() + l * kv, K, V, Eigen::OuterStride<>(V)); };

  const int64_t row_v = s.row0 * lay.H * V + h * V;
  const CMap<T> dO(args.dout + row_v, s.len, V, Eigen::OuterStride<>(lay.H * V));
  const CMap<T> Ofwd(f.o + row_v, s.len, V, Eigen::OuterStride<>(lay.H * V));
  HeadGrads<T> gr{rows_of(dq_head + s.row0 * lay.H * K + h * K, s.len, K, lay.H * K),
                  rows_of(dk_head + s.row0 * lay.H * K + h * K, s.len, K, lay.H * K),
                  rows_of(args.dv + row_v, s.len, V, lay.H * V), args.dls + (s.row0 * lay.H + h) * L, lay.H * L};
  gr.dQ.setZero();
  gr.dK.setZero();
  gr.dV.setZero();
  for (int64_t i = 0; i < s.len; ++i)
    for (int l = 0; l < L; ++l) gr.dlambda(i, l) = T(0);

  RowMat<T> Sraw, W, dA, X;
  std::vector<double> e;
  for (int64_t n = grid.n0; n <= grid.n1; ++n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n), nr = r1 - r0;
    const auto Qn = hv.Q(r0, nr);
    const auto Kn = hv.Kr(r0, nr);
    const auto Vn = hv.Vr(r0, nr);
    const auto dOn = dO.middleRows(r0, nr);
    // Intra-chunk. A = Sraw o W with W = lambda_t[level] exp(G_t - G_s) (causal).
    Sraw.noalias() = Qn * Kn.transpose();
    W.setZero(nr, nr);
    dA.noalias() = dOn * Vn.transpose();
    for (int64_t i = 0; i < nr; ++i) {
      const int64_t t = s.pos + r0 + i;
      for (int64_t j = 0; j <= i; ++j) {
        const int lv = level_of(t, s.pos + r0 + j);
        const T ex = static_cast<T>(std::exp(Gd[r0 + i] - Gd[r0 + j]));
        W(i, j) = hv.lambda(r0 + i, lv) * ex;
        gr.dlambda(r0 + i, lv) += dA(i, j) * Sraw(i, j) * ex;
      }
    }
    // dV += A^T dO; then dA becomes d(Sraw) = dA o W for dq, dk.
    gr.dV.middleRows(r0, nr).noalias() += Sraw.cwiseProduct(W).transpose() * dOn;
    dA = dA.cwiseProduct(W);
    gr.dQ.middleRows(r0, nr).noalias() += dA * Kn;
    gr.dK.middleRows(r0, nr).noalias() += dA.transpose() * Qn;
    // Ranges read by this chunk.
    tree.for_each_read(n, [&](int j, int64_t a, int level) {
      const double Ge = Gd[tree.last_row(j, a)];
      e.resize(nr);
      for (int64_t i = 0; i < nr; ++i) e[i] = std::exp(Gd[r0 + i] - Ge);
      const CMap<T> R = std::as_const(tree).mat(j, a);
      MMap<T> dR = dtree.mat(j, a);
      read_backward(hv, gr, dO, r0, r1, level, e, &R, &dR, X);
    });
    // Initial state levels, in runs of equal m = level(t, pos - 1).
    if (st) {
      for_each_level_run(r0, r1, s.pos, s.pos - 1, [&](int64_t i0, int64_t i1, int m) {
        e.resize(i1 - i0);
        for (int64_t i = i0; i < i1; ++i) e[i - i0] = std::exp(Gd[i]);
        const CMap<T> P = st->upto(m);
        std::optional<MMap<T>> dPm;
        if (want_dstate) dPm.emplace(dmat(dP, m));
        read_backward(hv, gr, dO, i0, i1, m, e, &P, dPm ? &*dPm : static_cast<MMap<T>*>(nullptr), X);
        for (int l = m + 1; l < L; ++l) {
          if (!st->nonzero[l] && !want_dstate) continue;
          const CMap<T> Sl = st->level(l);
          std::optional<MMap<T>> dSl;
          if (want_dstate) dSl.emplace(dmat(dS, l));
          read_backward(hv, gr, dO, i0, i1, l, e, st->nonzero[l] ? &Sl : static_cast<const CMap<T>*>(nullptr),
                        dSl ? &*dSl : static_cast<MMap<T>*>(nullptr), X);
        }
      });
    }
  }

  // The final state's gradient dF (levels L x K x V), the transpose of final_state().
  double dG_last = 0;
  if (args.dstate_out) {
    const T* dF = args.dstate_out + state_off;
    const T* F = f.state_out + state_off;
    auto dFl = [&](int64_t l) { return CMap<T>(dF + l * kv, K, V, Eigen::OuterStride<>(V)); };
    for (int64_t x = 0; x < L * kv; ++x) dG_last += static_cast<double>(dF[x]) * static_cast<double>(F[x]);
    const int64_t last = s.len - 1, c_abs = s.pos + last;
    if (st && want_dstate) {
      const int M = level_of(c_abs, s.pos - 1);
      const T w = static_cast<T>(std::exp(Gd[last]));
      for (int64_t l = 0; l < L; ++l) dmat(dS, l) += w * dFl(std::max<int64_t>(M, l));
    }
    for_each_level_run(grid.first_row(grid.n1), s.len, s.pos, c_abs, [&](int64_t i0, int64_t i1, int m) {
      const int64_t nr = i1 - i0;
      X = hv.Vr(i0, nr) * dFl(m).transpose();  // (nr, K)
      for (int64_t i = 0; i < nr; ++i) X.row(i) *= static_cast<T>(std::exp(Gd[last] - Gd[i0 + i]));
      gr.dK.middleRows(i0, nr) += X;
      X = hv.Kr(i0, nr) * dFl(m);  // (nr, V)
      for (int64_t i = 0; i < nr; ++i) X.row(i) *= static_cast<T>(std::exp(Gd[last] - Gd[i0 + i]));
      gr.dV.middleRows(i0, nr) += X;
    });
    tree.for_each_read(grid.n1, [&](int j, int64_t a, int level) {
      dtree.mat(j, a) += static_cast<T>(std::exp(Gd[last] - Gd[tree.last_row(j, a)])) * dFl(level);
    });
  }

  // Node gradients down to the per-chunk states, then into k and v:
  // U(m) = K_m^T diag(d) V_m with d_i = exp(G_end - G_i).
  push_down(dtree, Gd);
  if (dtree.levels() > 0) {
    for (int64_t a = dtree.first(0); a < dtree.first(0) + dtree.count(0); ++a) {
      const int64_t r0 = grid.first_row(a), r1 = grid.end_row(a), nr = r1 - r0;
      const double Ge = Gd[dtree.last_row(0, a)];
      const auto dU = std::as_const(dtree).mat(0, a);
      X.noalias() = hv.Vr(r0, nr) * dU.transpose();
      for (int64_t i = 0; i < nr; ++i) X.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
      gr.dK.middleRows(r0, nr) += X;
      X.noalias() = hv.Kr(r0, nr) * dU;
      for (int64_t i = 0; i < nr; ++i) X.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
      gr.dV.middleRows(r0, nr) += X;
    }
  }

  if (want_dstate) {
    T* out = args.dstate_in + state_off;
    if (!st) {
      std::fill(out, out + L * kv, T(0));  // position 0: the levels are not read
    } else {
      for (int64_t l = L - 1; l >= 0; --l) {
        if (l + 1 < L) dmat(dP, l) += dmat(dP, l + 1);  // suffix sum: sum_{m >= l} dP[m]
        MMap<T>(out + l * kv, K, V, Eigen::OuterStride<>(V)) = dmat(dS, l) + dmat(dP, l);
      }
    }
  }

  // dG_t = do_t . o_t - v_t . dv_t, then dg_r = sum_{t >= r} dG_t.
  double acc = dG_last;
  for (int64_t i = s.len - 1; i >= 0; --i) {
    double dG = 0;
    for (int64_t x = 0; x < V; ++x)
      dG += static_cast<double>(dO(i, x)) * Ofwd(i, x) - static_cast<double>(hv.v[i * hv.sv + x]) * gr.dV(i, x);
    acc += dG;
    args.dg[(s.row0 + i) * lay.H + h] = static_cast<T>(acc);
  }
}

}  // namespace

template <class T>
void chunk_backward_cpu(const Layout& lay, const BackwardArgs<T>& args) {
  // dq, dk (B,T,G,K); dv (B,T,H,V); dg (B,T,H); dls (B,T,H,L).
  const int64_t H = lay.H, K = lay.K, G = lay.G;
  // Per-head dq, dk (B*T, H, K) so the tasks write disjoint rows.
  std::vector<T> dq_head(static_cast<size_t>(lay.rows * H * K)), dk_head(dq_head.size());
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * H;
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
  for (int64_t job = 0; job < jobs; ++job)
    backward_head(lay, args, dq_head.data(), dk_head.data(), job / H, job % H);
  reduce_heads_to_groups(lay, G, dq_head.data(), dk_head.data(), args.dq, args.dk);
}

template void chunk_backward_cpu<float>(const Layout&, const BackwardArgs<float>&);
template void chunk_backward_cpu<double>(const Layout&, const BackwardArgs<double>&);

}  // namespace loglin::lla

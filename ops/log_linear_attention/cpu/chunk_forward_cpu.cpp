// The chunked forward of log-linear attention on the CPU (SPEC section 3):
// the model the CUDA forward kernel follows. Per (sequence, head):
//   1. G = cumulative g;
//   2. the range tree: per-chunk states U(m), then combines;
//   3. per chunk n: intra-chunk masked scores times V, plus Q_n times every
//      range node that chunk reads (row-scaled by lambda and the decay), plus
//      the initial state's levels;
//   4. if asked, the final state (the levels seen from the last row).
// Threads (OpenMP) run over (sequence, head); Eigen does the products.
#include <optional>

#include "ops/log_linear_attention/cpu/chunk_cpu.h"

namespace loglin::lla {

template <class T>
void build_range_tree(RangeTree<T>& tree, const ChunkGrid& grid, const HeadView<T>& hv,
                      const std::vector<double>& Gd) {
  // hv rows [len]; tree nodes K x V.
  if (tree.levels() == 0) return;
  RowMat<T> Kw;
  // Level 0: U(m) = K_m^T diag(exp(G_end - G_i)) V_m for the chunks m < n1.
  for (int64_t a = tree.first(0); a < tree.first(0) + tree.count(0); ++a) {
    const int64_t r0 = grid.first_row(a), r1 = grid.end_row(a), nr = r1 - r0;
    const double Ge = Gd[tree.last_row(0, a)];
    Kw = hv.Kr(r0, nr);
    for (int64_t i = 0; i < nr; ++i) Kw.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
    tree.mat(0, a).noalias() = Kw.transpose() * hv.Vr(r0, nr);
  }
  // Level j: parent = exp(G_end(right) - G_end(left)) * left + right. The left
  // child is missing when its range ends before the call starts (empty).
  for (int j = 1; j < tree.levels(); ++j) {
    for (int64_t a = tree.first(j); a < tree.first(j) + tree.count(j); ++a) {
      const int64_t left = 2 * a, right = 2 * a + 1;
      auto P = tree.mat(j, a);
      P = tree.mat(j - 1, right);
      if (tree.has(j - 1, left)) {
        const double decay = std::exp(Gd[tree.last_row(j - 1, right)] - Gd[tree.last_row(j - 1, left)]);
        P += static_cast<T>(decay) * tree.mat(j - 1, left);
      }
    }
  }
}

namespace {

// o rows of one chunk [nr, V] += the initial state's contribution (see
// InitialLevels): runs of rows share m = level(t, pos - 1).
template <class T>
void add_initial_state(const HeadView<T>& hv, const InitialLevels<T>& st, const std::vector<double>& Gd, int64_t r0,
                       int64_t r1, RowMat<T>& On) {
  RowMat<T> X;
  for_each_level_run(r0, r1, hv.pos, hv.pos - 1, [&](int64_t i0, int64_t i1, int m) {
    const auto Qr = hv.Q(i0, i1 - i0);
    auto add = [&](int l, const CMap<T>& S) {
      X.noalias() = Qr * S;
      for (int64_t i = i0; i < i1; ++i)
        On.row(i - r0) += (hv.lambda(i, l) * static_cast<T>(std::exp(Gd[i]))) * X.row(i - i0);
    };
    add(m, st.upto(m));
    for (int l = m + 1; l < st.L; ++l)
      if (st.nonzero[l]) add(l, st.level(l));
  });
}

// The state after the last row, levels [L, K, V] (see LogLinearState): the
// initial levels moved to max(level(c', pos-1), l), the last chunk's own
// rows by their level, and the ranges chunk n1 reads, all decayed to c'.
template <class T>
void final_state(const HeadView<T>& hv, const ChunkGrid& grid, const RangeTree<T>& tree,
                 const InitialLevels<T>* st, const std::vector<double>& Gd, int64_t L, T* F) {
  const int64_t K = hv.K, V = hv.V, kv = K * V, last = hv.len - 1, c_abs = hv.pos + last;
  std::fill(F, F + L * kv, T(0));
  auto Fl = [&](int64_t l) { return MMap<T>(F + l * kv, K, V, Eigen::OuterStride<>(V)); };
  if (st) {
    const int M = level_of(c_abs, hv.pos - 1);
    const T w = static_cast<T>(std::exp(Gd[last]));
    for (int64_t l = 0; l < L; ++l) Fl(std::max<int64_t>(M, l)) += w * st->level(l);
  }
  RowMat<T> Kw;
  for_each_level_run(grid.first_row(grid.n1), hv.len, hv.pos, c_abs, [&](int64_t i0, int64_t i1, int m) {
    Kw = hv.Kr(i0, i1 - i0);
    for (int64_t i = i0; i < i1; ++i) Kw.row(i - i0) *= static_cast<T>(std::exp(Gd[last] - Gd[i]));
    Fl(m).noalias() += Kw.transpose() * hv.Vr(i0, i1 - i0);
  });
  tree.for_each_read(grid.n1, [&](int j, int64_t a, int level) {
    Fl(level) += static_cast<T>(std::exp(Gd[last] - Gd[tree.last_row(j, a)])) * tree.mat(j, a);
  });
}

template <class T>
void forward_head(const Layout& lay, const ForwardArgs<T>& args, int64_t seq, int64_t h) {
  // q, k (len, K) and v, o (len, V) rows of sequence `seq`, head h.
  const Seq& s = lay.seqs[seq];
  const HeadView<T> hv(lay, s, h, args.q, args.k, args.v, args.g, args.ls);
  const std::vector<double> Gd = cumulative_decay(hv);
  const ChunkGrid grid(lay, s);
  RangeTree<T> tree(grid, lay.K, lay.V);
  build_range_tree(tree, grid, hv, Gd);

  const int64_t state_off = (seq * lay.H + h) * lay.L * lay.K * lay.V;
  std::optional<InitialLevels<T>> st;
  if (args.state_in && s.pos > 0) st.emplace(args.state_in + state_off, lay.L, lay.K, lay.V);

  MMap<T> O = rows_of(args.o + s.row0 * lay.H * lay.V + h * lay.V, s.len, lay.V, lay.H * lay.V);
  RowMat<T> S, On, X;
  for (int64_t n = grid.n0; n <= grid.n1; ++n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n), nr = r1 - r0;
    const auto Qn = hv.Q(r0, nr);
    // Intra-chunk: scores masked by causality, lambda_t[level] and the decay.
    S.noalias() = Qn * hv.Kr(r0, nr).transpose();
    for (int64_t i = 0; i < nr; ++i) {
      const int64_t t = s.pos + r0 + i;
      for (int64_t j = 0; j <= i; ++j)
        S(i, j) *= hv.lambda(r0 + i, level_of(t, s.pos + r0 + j)) *
                   static_cast<T>(std::exp(Gd[r0 + i] - Gd[r0 + j]));
      for (int64_t j = i + 1; j < nr; ++j) S(i, j) = T(0);
    }
    On.noalias() = S * hv.Vr(r0, nr);
    // Inter-chunk: one product per range the chunk reads, scaled per row by
    // lambda_t[c + j + 1] exp(G_t - G_end).
    tree.for_each_read(n, [&](int j, int64_t a, int level) {
      X.noalias() = Qn * tree.mat(j, a);
      const double Ge = Gd[tree.last_row(j, a)];
      for (int64_t i = 0; i < nr; ++i)
        On.row(i) += (hv.lambda(r0 + i, level) * static_cast<T>(std::exp(Gd[r0 + i] - Ge))) * X.row(i);
    });
    if (st) add_initial_state(hv, *st, Gd, r0, r1, On);
    O.middleRows(r0, nr) = On;
  }
  if (args.state_out) final_state(hv, grid, tree, st ? &*st : nullptr, Gd, lay.L, args.state_out + state_off);
}

}  // namespace

template <class T>
void chunk_forward_cpu(const Layout& lay, const ForwardArgs<T>& args) {
  // q, k (B,T,G,K); v, o (B,T,H,V); g (B,T,H); level_scales (B,T,H,L).
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * lay.H;
  // One (sequence, head) per task; dynamic because varlen sequences differ in length.
#pragma omp parallel for schedule(dynamic, 1) if (jobs > 1)
  for (int64_t job = 0; job < jobs; ++job) forward_head(lay, args, job / lay.H, job % lay.H);
}

template void build_range_tree<float>(RangeTree<float>&, const ChunkGrid&, const HeadView<float>&,
                                      const std::vector<double>&);
template void build_range_tree<double>(RangeTree<double>&, const ChunkGrid&, const HeadView<double>&,
                                       const std::vector<double>&);
template void chunk_forward_cpu<float>(const Layout&, const ForwardArgs<float>&);
template void chunk_forward_cpu<double>(const Layout&, const ForwardArgs<double>&);

}  // namespace loglin::lla

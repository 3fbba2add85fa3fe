// The chunked forward of scalar-decay linear attention on the CPU: log-linear
// attention with lambda == 1, which needs no levels. Per (sequence, head):
//   1. G = cumulative g (chunk_cpu.h's cumulative_decay, in double);
//   2. per chunk n, in order:
//        O_n = (Q_n K_n^T o D_n) V_n + diag(exp(G_t - G_b)) Q_n S,
//      with D_n(i, j) = exp(G_i - G_j) for j <= i (0 above the diagonal),
//      b = the row before the chunk and S the running state
//        S = sum_{s <= b} exp(G_b - G_s) k_s v_s^T   (K x V);
//   3. then the state moves past the chunk (e = its last row):
//        S <- exp(G_e - G_b) S + K_n^T diag(exp(G_e - G_i)) V_n.
// A sequential scan over chunks: the state is one matrix, so there is no
// tree to build. Threads (OpenMP) run over (sequence, head); Eigen does the
// products.
#include "ops/log_linear_attention/cpu/chunk_cpu.h"
#include "ops/scalar_decay_attention/cpu/scalar_decay_cpu.h"

namespace loglin::lla {

template <class T>
void scalar_decay_mask(const double* G, int64_t n, T* W) {
  // W (n, n): exp(G_i - G_j) on and below the diagonal, 0 above it.
  MMap<T> Wm(W, n, n, Eigen::OuterStride<>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) Wm(i, j) = static_cast<T>(G[i] - G[j]);  // <= 0 when g <= 0
  for (int64_t i = 0; i < n; ++i) Wm.row(i).tail(n - 1 - i).setConstant(T(0));
  for (int64_t i = 0; i < n; ++i) Wm.row(i).head(i + 1) = Wm.row(i).head(i + 1).array().exp();
}

namespace {

template <class T>
void scalar_decay_forward_head(const Layout& lay, const ScalarDecayArgs<T>& args, int64_t seq, int64_t h) {
  // q, k (len, K) and v, o (len, V) rows of sequence `seq`, head h.
  const Seq& s = lay.seqs[seq];
  const HeadView<T> hv(lay, s, h, args.q, args.k, args.v, args.g, nullptr);
  const std::vector<double> Gd = cumulative_decay(hv);
  const ChunkGrid grid(lay, s);
  MMap<T> O = rows_of(args.o + s.row0 * lay.H * lay.V + h * lay.V, s.len, lay.V, lay.H * lay.V);

  RowMat<T> state = RowMat<T>::Zero(lay.K, lay.V), A, W, X, Kw;
  double Gb = 0;  // G at the row before the chunk (0 before the first)
  for (int64_t n = grid.n0; n <= grid.n1; ++n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n), nr = r1 - r0;
    const auto Qn = hv.Q(r0, nr);
    const auto Kn = hv.Kr(r0, nr);
    const auto Vn = hv.Vr(r0, nr);
    // Intra-chunk: scores times the causal decay mask.
    W.resize(nr, nr);
    scalar_decay_mask(Gd.data() + r0, nr, W.data());
    A.noalias() = Qn * Kn.transpose();
    A = A.cwiseProduct(W);
    auto On = O.middleRows(r0, nr);
    On.noalias() = A * Vn;
    // The sources before the chunk, through the state.
    if (n > grid.n0) {
      X.noalias() = Qn * state;
      for (int64_t i = 0; i < nr; ++i) On.row(i) += static_cast<T>(std::exp(Gd[r0 + i] - Gb)) * X.row(i);
    }
    // Carry the state past the chunk (not needed after the last one).
    if (n < grid.n1) {
      const double Ge = Gd[r1 - 1];
      Kw = Kn;
      for (int64_t i = 0; i < nr; ++i) Kw.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
      state *= static_cast<T>(std::exp(Ge - Gb));
      state.noalias() += Kw.transpose() * Vn;
      Gb = Ge;
    }
  }
}

}  // namespace

template <class T>
void scalar_decay_forward_cpu(const Layout& lay, const ScalarDecayArgs<T>& args) {
  // q, k (B,T,G,K); v, o (B,T,H,V); g (B,T,H).
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * lay.H;
  // One (sequence, head) per task; dynamic because varlen sequences differ in
  // length. Tiny problems (gradcheck, tests) stay on one thread: starting the
  // team costs more than the work.
  const bool threaded = jobs > 1 && lay.rows * lay.H * (lay.K + lay.V) >= (int64_t{1} << 15);
#pragma omp parallel for schedule(dynamic, 1) if (threaded)
  for (int64_t job = 0; job < jobs; ++job) scalar_decay_forward_head(lay, args, job / lay.H, job % lay.H);
}

template void scalar_decay_mask<float>(const double*, int64_t, float*);
template void scalar_decay_mask<double>(const double*, int64_t, double*);
template void scalar_decay_forward_cpu<float>(const Layout&, const ScalarDecayArgs<float>&);
template void scalar_decay_forward_cpu<double>(const Layout&, const ScalarDecayArgs<double>&);

}  // namespace loglin::lla

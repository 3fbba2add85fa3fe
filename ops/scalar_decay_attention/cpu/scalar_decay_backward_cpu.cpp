// The chunked backward of scalar-decay linear attention on the CPU, written
// by hand. Per (sequence, head):
//   1. rescan the forward's states: S_n, the state before chunk n (one
//      K x V matrix per chunk; rebuilt rather than saved by the forward);
//   2. walk the chunks in reverse with dS, the gradient of the state after
//      the chunk:
//        - intra-chunk: dA = dO_n V_n^T; dV = (A o D)^T dO_n,
//          dQ = (dA o D) K_n, dK = (dA o D)^T Q_n;
//        - the state update S_{n+1} = exp(G_e - G_b) S_n + K_n^T diag(d) V_n,
//          d_i = exp(G_e - G_i): dK += diag(d) V_n dS^T, dV += diag(d) K_n dS,
//          then dS <- exp(G_e - G_b) dS;
//        - the read O_n += diag(e) Q_n S_n, e_i = exp(G_i - G_b):
//          dQ += diag(e) dO_n S_n^T and dS += (diag(e) Q_n)^T dO_n;
//   3. dg from the SPEC identity dG_t = do_t.o_t - v_t.dv_t, reverse-cumulated
//      (every term depends on G only through exp(G_t - G_s)). No T x T work.
// With G < H, dq and dk are kept per head and summed over each group in head
// order (deterministic); with G == H they are written in place.
#include "ops/log_linear_attention/cpu/chunk_cpu.h"
#include "ops/scalar_decay_attention/cpu/scalar_decay_cpu.h"

namespace loglin::lla {
namespace {

template <class T>
void scalar_decay_backward_head(const Layout& lay, const ScalarDecayGradArgs<T>& args, T* dq_head, T* dk_head,
                                int64_t seq, int64_t h) {
  // q, k, dq, dk (len, K); v, o, dO, dv (len, V) rows of sequence `seq`, head h.
  const ScalarDecayArgs<T>& f = args.fwd;
  const Seq& s = lay.seqs[seq];
  const int64_t K = lay.K, V = lay.V, kv = K * V;
  const HeadView<T> hv(lay, s, h, f.q, f.k, f.v, f.g, nullptr);
  const std::vector<double> Gd = cumulative_decay(hv);
  const ChunkGrid grid(lay, s);
  const int64_t chunks = grid.n1 - grid.n0 + 1;
  auto Gbefore = [&](int64_t r0) { return r0 > 0 ? Gd[r0 - 1] : 0.0; };

  RowMat<T> A, W, dA, X, Kw;
  // 1. S_n for every chunk (S_{n0} = 0), as the forward's scan builds them.
  std::vector<T> states(static_cast<size_t>(chunks * kv), T(0));
  auto state = [&](int64_t n) { return MMap<T>(states.data() + (n - grid.n0) * kv, K, V, Eigen::OuterStride<>(V)); };
  for (int64_t n = grid.n0; n < grid.n1; ++n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n), nr = r1 - r0;
    const double Ge = Gd[r1 - 1];
    Kw = hv.Kr(r0, nr);
    for (int64_t i = 0; i < nr; ++i) Kw.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
    auto next = state(n + 1);
    next = static_cast<T>(std::exp(Ge - Gbefore(r0))) * state(n);
    next.noalias() += Kw.transpose() * hv.Vr(r0, nr);
  }

  const int64_t row_v = s.row0 * lay.H * V + h * V;
  const CMap<T> dO(args.dout + row_v, s.len, V, Eigen::OuterStride<>(lay.H * V));
  const CMap<T> Ofwd(f.o + row_v, s.len, V, Eigen::OuterStride<>(lay.H * V));
  MMap<T> dQ = rows_of(dq_head + s.row0 * lay.H * K + h * K, s.len, K, lay.H * K);
  MMap<T> dK = rows_of(dk_head + s.row0 * lay.H * K + h * K, s.len, K, lay.H * K);
  MMap<T> dV = rows_of(args.dv + row_v, s.len, V, lay.H * V);

  // 2. Reverse walk; dS is the gradient of the state after chunk n.
  RowMat<T> dS = RowMat<T>::Zero(K, V);
  for (int64_t n = grid.n1; n >= grid.n0; --n) {
    const int64_t r0 = grid.first_row(n), r1 = grid.end_row(n), nr = r1 - r0;
    const double Gb = Gbefore(r0), Ge = Gd[r1 - 1];
    const auto Qn = hv.Q(r0, nr);
    const auto Kn = hv.Kr(r0, nr);
    const auto Vn = hv.Vr(r0, nr);
    const auto dOn = dO.middleRows(r0, nr);
    auto dQn = dQ.middleRows(r0, nr);
    auto dKn = dK.middleRows(r0, nr);
    auto dVn = dV.middleRows(r0, nr);
    // Intra-chunk, with the causal decay mask W = D_n.
    W.resize(nr, nr);
    scalar_decay_mask(Gd.data() + r0, nr, W.data());
    A.noalias() = Qn * Kn.transpose();
    A = A.cwiseProduct(W);
    dVn.noalias() = A.transpose() * dOn;
    dA.noalias() = dOn * Vn.transpose();
    dA = dA.cwiseProduct(W);
    dQn.noalias() = dA * Kn;
    dKn.noalias() = dA.transpose() * Qn;
    // The state update after this chunk (the last chunk has none).
    if (n < grid.n1) {
      X.noalias() = Vn * dS.transpose();  // (nr, K)
      for (int64_t i = 0; i < nr; ++i) X.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
      dKn += X;
      X.noalias() = Kn * dS;  // (nr, V)
      for (int64_t i = 0; i < nr; ++i) X.row(i) *= static_cast<T>(std::exp(Ge - Gd[r0 + i]));
      dVn += X;
      dS *= static_cast<T>(std::exp(Ge - Gb));
    }
    // The read of S_n (empty for the first chunk).
    if (n > grid.n0) {
      const auto Sn = state(n);
      X.noalias() = dOn * Sn.transpose();  // (nr, K)
      for (int64_t i = 0; i < nr; ++i) {
        const T e = static_cast<T>(std::exp(Gd[r0 + i] - Gb));
        dQn.row(i) += e * X.row(i);
        X.row(i) = e * Qn.row(i);  // reuse X as diag(e) Q_n
      }
      dS.noalias() += X.transpose() * dOn;
    }
  }

  // 3. dG_t = do_t . o_t - v_t . dv_t, then dg_r = sum_{t >= r} dG_t.
  double acc = 0;
  for (int64_t i = s.len - 1; i >= 0; --i) {
    double dG = 0;
    for (int64_t x = 0; x < V; ++x)
      dG += static_cast<double>(dO(i, x)) * Ofwd(i, x) - static_cast<double>(hv.v[i * hv.sv + x]) * dV(i, x);
    acc += dG;
    args.dg[(s.row0 + i) * lay.H + h] = static_cast<T>(acc);
  }
}

}  // namespace

template <class T>
void scalar_decay_backward_cpu(const Layout& lay, const ScalarDecayGradArgs<T>& args) {
  // dq, dk (B,T,G,K); dv (B,T,H,V); dg (B,T,H).
  const int64_t H = lay.H, K = lay.K, G = lay.G;
  // With G == H the per-head rows are dq's own rows; otherwise per-head
  // buffers (B*T, H, K) so the tasks write disjoint rows.
  std::vector<T> dq_head, dk_head;
  T* dqh = args.dq;
  T* dkh = args.dk;
  if (G != H) {
    dq_head.resize(static_cast<size_t>(lay.rows * H * K));
    dk_head.resize(dq_head.size());
    dqh = dq_head.data();
    dkh = dk_head.data();
  }
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * H;
  const bool threaded = jobs > 1 && lay.rows * H * (K + lay.V) >= (int64_t{1} << 15);  // as the forward
#pragma omp parallel for schedule(dynamic, 1) if (threaded)
  for (int64_t job = 0; job < jobs; ++job) scalar_decay_backward_head(lay, args, dqh, dkh, job / H, job % H);
  if (G == H) return;
  reduce_heads_to_groups(lay, G, dq_head.data(), dk_head.data(), args.dq, args.dk);
}

template void scalar_decay_backward_cpu<float>(const Layout&, const ScalarDecayGradArgs<float>&);
template void scalar_decay_backward_cpu<double>(const Layout&, const ScalarDecayGradArgs<double>&);

}  // namespace loglin::lla

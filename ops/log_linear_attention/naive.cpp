// The answer key: log-linear attention as its T x T definition (SPEC section
// 1), plain loops, float64 accumulation, no chunks, no autograd. Also the
// gradients of SPEC section 2 by the same loops, for tests. Slow on purpose:
// nothing here is clever, so there is little to get wrong.
#include <cmath>

#include "core/tensor.h"
#include "ops/log_linear_attention/cpu/chunk_cpu.h"
#include "ops/log_linear_attention/log_linear_attention.h"

namespace loglin {
namespace {

// The inputs as contiguous f64 arrays, with the layout's strides.
struct NaiveInputs {
  std::vector<double> q, k, v, g, ls;
  NaiveInputs(const Tensor& q_, const Tensor& k_, const Tensor& v_, const Tensor& g_, const Tensor& ls_)
      : q(q_.to_vector<double>()),
        k(k_.to_vector<double>()),
        v(v_.to_vector<double>()),
        g(g_.to_vector<double>()),
        ls(ls_.to_vector<double>()) {}
};

// G_i = g_0 + ... + g_i of sequence s, head h.
std::vector<double> prefix_decay(const lla::Layout& lay, const NaiveInputs& in, const lla::Seq& s, int64_t h) {
  std::vector<double> G(static_cast<size_t>(s.len));
  double acc = 0;
  for (int64_t i = 0; i < s.len; ++i) G[i] = acc += in.g[(s.row0 + i) * lay.H + h];
  return G;
}

}  // namespace

Tensor log_linear_attention_naive(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                  const Tensor& level_scales, const Tensor& cu_seqlens) {
  // q, k (B,T,G,K); v (B,T,H,V); g (B,T,H); level_scales (B,T,H,L) -> o (B,T,H,V).
  const lla::Layout lay = lla::check_inputs(q, k, v, g, level_scales, cu_seqlens, 64, nullptr);
  const int64_t H = lay.H, G = lay.G, K = lay.K, V = lay.V, L = lay.L;
  const NaiveInputs in(q, k, v, g, level_scales);
  std::vector<double> o(static_cast<size_t>(lay.rows * H * V), 0.0);
  const int64_t jobs = static_cast<int64_t>(lay.seqs.size()) * H;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t job = 0; job < jobs; ++job) {
    const lla::Seq& s = lay.seqs[job / H];
    const int64_t h = job % H, grp = lay.group_of(h);
    const std::vector<double> Gc = prefix_decay(lay, in, s, h);
    for (int64_t t = 0; t < s.len; ++t) {
      const double* qt = &in.q[((s.row0 + t) * G + grp) * K];
      double* ot = &o[((s.row0 + t) * H + h) * V];
      for (int64_t src = 0; src <= t; ++src) {
        const double* ks = &in.k[((s.row0 + src) * G + grp) * K];
        const double* vs = &in.v[((s.row0 + src) * H + h) * V];
        double qk = 0;
        for (int64_t x = 0; x < K; ++x) qk += qt[x] * ks[x];
        const double lam = in.ls[((s.row0 + t) * H + h) * L + lla::level_of(t, src)];
        const double w = lam * std::exp(Gc[t] - Gc[src]) * qk;
        for (int64_t x = 0; x < V; ++x) ot[x] += w * vs[x];
      }
    }
  }
  Tensor out = Tensor::from_vector(o, {q.size(0), q.size(1), H, V});
  return q.dtype() == DType::f64 ? out : core::contiguous_copy(out, q.dtype());
}

LogLinearAttentionGrads log_linear_attention_naive_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                            const Tensor& g, const Tensor& level_scales,
                                                            const Tensor& dout, const Tensor& cu_seqlens) {
  // dout (B,T,H,V) -> dq, dk (B,T,G,K), dv (B,T,H,V), dg (B,T,H), dlevel_scales (B,T,H,L).
  const lla::Layout lay = lla::check_inputs(q, k, v, g, level_scales, cu_seqlens, 64, nullptr);
  const int64_t H = lay.H, G = lay.G, K = lay.K, V = lay.V, L = lay.L;
  LOGLIN_CHECK(dout.shape() == v.shape(), "[{}] dout must have o's shape {}, got {}", lla::kOpName,
               shape_str(v.shape()), shape_str(dout.shape()));
  const NaiveInputs in(q, k, v, g, level_scales);
  const std::vector<double> dO = dout.to_vector<double>();
  std::vector<double> dq(in.q.size(), 0.0), dk(in.k.size(), 0.0), dv(in.v.size(), 0.0), dg(in.g.size(), 0.0),
      dls(in.ls.size(), 0.0);
  // One task per sequence: the heads of a group write the same dq, dk rows.
  const int64_t nseq = static_cast<int64_t>(lay.seqs.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t n = 0; n < nseq; ++n) {
    const lla::Seq& s = lay.seqs[n];
    for (int64_t h = 0; h < H; ++h) {
      const int64_t grp = lay.group_of(h);
      const std::vector<double> Gc = prefix_decay(lay, in, s, h);
      // X[t][src] = lambda e (q.k)(v.do): the pair's term of dL/dG. dg_r sums the
      // X[t][src] with src < r <= t; row_below[t] = sum_{src < t} X[t][src],
      // col_above[src] = sum_{t > src} X[t][src].
      std::vector<double> row_below(s.len, 0.0), col_above(s.len, 0.0);
      for (int64_t t = 0; t < s.len; ++t) {
        const int64_t rt = s.row0 + t;
        const double* qt = &in.q[(rt * G + grp) * K];
        const double* dot = &dO[(rt * H + h) * V];
        for (int64_t src = 0; src <= t; ++src) {
          const int64_t rs = s.row0 + src;
          const double* ks = &in.k[(rs * G + grp) * K];
          const double* vs = &in.v[(rs * H + h) * V];
          double qk = 0, vd = 0;
          for (int64_t x = 0; x < K; ++x) qk += qt[x] * ks[x];
          for (int64_t x = 0; x < V; ++x) vd += vs[x] * dot[x];
          const int lv = lla::level_of(t, src);
          const double lam = in.ls[(rt * H + h) * L + lv];
          const double e = std::exp(Gc[t] - Gc[src]);
          for (int64_t x = 0; x < K; ++x) {
            dq[(rt * G + grp) * K + x] += lam * e * vd * ks[x];
            dk[(rs * G + grp) * K + x] += lam * e * vd * qt[x];
          }
          for (int64_t x = 0; x < V; ++x) dv[(rs * H + h) * V + x] += lam * e * qk * dot[x];
          dls[(rt * H + h) * L + lv] += e * qk * vd;
          if (src < t) {
            const double X = lam * e * qk * vd;
            row_below[t] += X;
            col_above[src] += X;
          }
        }
      }
      double D = 0;  // D(r) = sum over t >= r, src < r of X[t][src]
      for (int64_t r = 0; r < s.len; ++r) {
        dg[(s.row0 + r) * H + h] = D;
        D += col_above[r] - row_below[r];
      }
    }
  }
  auto back = [](const std::vector<double>& x, const Tensor& like) {
    Tensor t = Tensor::from_vector(x, like.shape());
    return like.dtype() == DType::f64 ? t : core::contiguous_copy(t, like.dtype());
  };
  return {back(dq, q), back(dk, k), back(dv, v), back(dg, g), back(dls, level_scales)};
}

}  // namespace loglin

// The gated delta rule's answer keys (reference.h): the naive key from differentiable primitives, and the recurrent forward and
// backward in plain loops. Both walk the per-level recurrence of SPEC
// section 2; the naive one batches a time step over sequences and heads with
// tensor ops, the recurrent one does one (sequence, head) at a time in
// doubles. Nothing here is clever, so there is little to get wrong.
#include "ops/gated_delta_rule/reference.h"

#include "ops/gated_delta_rule/checks.h"

#include <bit>
#include <cmath>
#include <utility>
#include <vector>

#include "ops/chunk_layout/checks.h"
#include "ops/elementwise/binary.h"
#include "ops/elementwise/unary.h"
#include "ops/matmul/matmul.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/cat.h"
#include "ops/shape/view_ops.h"

namespace loglin {


namespace {

constexpr const char* kNaive = "gated_delta_rule_naive";
constexpr const char* kRecurrent = "gated_delta_rule_recurrent";
constexpr const char* kBackward = "gated_delta_rule_recurrent_backward";

// ---- the naive key (differentiable primitives) ----

// x (B,T,G,D) -> (B,T,H,D): head h reads group h / (H / G).
Tensor per_head(const Tensor& x, int64_t H) {
  const int64_t B = x.size(0), T = x.size(1), G = x.size(2), D = x.size(3);
  if (G == H) return x;
  return x.unsqueeze(3).expand({B, T, G, H / G, D}).reshape({B, T, H, D});
}

// S (N,H,L,K,V) re-bucketed for the token after absolute position c: with m
// the trailing one bits of c, every source of levels 0..m+1 is at level m+1
// from c + 1, and levels 0..m are empty (SPEC-log-linear-attention section 4).
Tensor rebucket(const Tensor& S, int64_t c) {
  const int64_t L = S.size(2), m = std::countr_one(static_cast<uint64_t>(c));
  Shape empty = S.shape();
  empty[2] = m + 1;
  std::vector<Tensor> parts{Tensor::zeros(empty, S.dtype(), S.device()), S.narrow(2, 0, m + 2).sum({2}, true)};
  if (m + 2 < L) parts.push_back(S.narrow(2, m + 2, L - m - 2));
  return cat(parts, 2);
}

// Sequences that start at one absolute position, run as one batch:
// q, k (N,n,H,K) already per head; v (N,n,H,V); g, beta (N,n,H);
// ls (N,n,H,L) or undefined (plain); S0 (N,H,L,K,V) or undefined (empty).
struct Batch {
  Tensor q, k, v, g, beta, ls, S0;
  int64_t pos = 0;
};

// -> o (N,n,H,V) and the final levels (N,H,L,K,V).
std::pair<Tensor, Tensor> naive_batch(const Batch& b, int64_t L) {
  const int64_t N = b.q.size(0), n = b.q.size(1), H = b.q.size(2), K = b.q.size(3), V = b.v.size(3);
  const bool plain = !b.ls.defined();
  const DType D = b.q.dtype();
  Tensor S = b.S0.defined() ? b.S0 : Tensor::zeros({N, H, L, K, V}, D, b.q.device());
  // The write lands in level 0 only.
  std::vector<double> onehot(static_cast<size_t>(L), 0.0);
  onehot[0] = 1;
  const Tensor level0 = Tensor::from_vector(onehot, {L, 1, 1}).to(D).to(b.q.device());
  // unbind gives each step a view whose backward builds one gradient for the whole input.
  const std::vector<Tensor> qs = unbind(b.q, 1), ks = unbind(b.k, 1), vs = unbind(b.v, 1), gs = unbind(b.g, 1),
                            bs = unbind(b.beta, 1), ls = plain ? std::vector<Tensor>() : unbind(b.ls, 1);
  std::vector<Tensor> os;
  for (int64_t i = 0; i < n; ++i) {
    if (!plain && b.pos + i > 0) S = rebucket(S, b.pos + i - 1);
    const Tensor bk = (bs[i].unsqueeze(2) * ks[i]).reshape({N, H, 1, K, 1});  // beta_t k_t
    const Tensor decay = exp(gs[i]).reshape({N, H, 1, 1, 1});
    // A_t S = exp(g_t) (S - beta_t k_t (k_t^T S)) on every level at once.
    S = decay * (S - bk * matmul(ks[i].reshape({N, H, 1, 1, K}), S));
    const Tensor w = bk * vs[i].reshape({N, H, 1, 1, V});  // beta_t k_t v_t^T
    S = plain ? S + w : S + w * level0;
    const Tensor read = matmul(qs[i].reshape({N, H, 1, 1, K}), S).reshape({N, H, L, V});  // S^(l)T q_t per level
    os.push_back(plain ? read.reshape({N, H, V}) : matmul(ls[i].reshape({N, H, 1, L}), read).reshape({N, H, V}));
  }
  return {stack(os, 1), S};
}

// ---- the recurrent reference (raw arrays, doubles) ----

// The inputs as contiguous double arrays; ls and S0 empty when absent.
struct Arrays {
  std::vector<double> q, k, v, g, beta, ls, S0;
  Arrays(const Tensor& q_, const Tensor& k_, const Tensor& v_, const Tensor& g_, const Tensor& beta_, const Tensor& ls_,
         const GatedDeltaRuleOptions& options)
      : q(q_.to_vector<double>()),
        k(k_.to_vector<double>()),
        v(v_.to_vector<double>()),
        g(g_.to_vector<double>()),
        beta(beta_.to_vector<double>()) {
    if (ls_.defined()) ls = ls_.to_vector<double>();
    if (options.has_initial_state()) S0 = options.initial_state().levels.to_vector<double>();
  }
};

// One head's levels S (L,K,V), re-bucketed in place for the token after
// absolute position c (see rebucket).
void merge_levels(double* S, int64_t c, int64_t KV) {
  const int m = std::countr_one(static_cast<uint64_t>(c));
  double* dst = S + (m + 1) * KV;
  for (int l = 0; l <= m; ++l)
    for (int64_t e = 0; e < KV; ++e) {
      dst[e] += S[l * KV + e];
      S[l * KV + e] = 0;
    }
}

// S^(l) <- A S^(l) on every level, A = decay (I - beta k k^T); a is V scratch.
void gate(double* S, int64_t L, int64_t K, int64_t V, const double* k, double beta, double decay, double* a) {
  for (int64_t l = 0; l < L; ++l) {
    double* Sl = S + l * K * V;
    for (int64_t y = 0; y < V; ++y) a[y] = 0;
    for (int64_t x = 0; x < K; ++x)
      for (int64_t y = 0; y < V; ++y) a[y] += k[x] * Sl[x * V + y];
    for (int64_t x = 0; x < K; ++x)
      for (int64_t y = 0; y < V; ++y) Sl[x * V + y] = decay * (Sl[x * V + y] - beta * k[x] * a[y]);
  }
}

// S^(0) += beta k v^T.
void write(double* S, int64_t K, int64_t V, const double* k, const double* v, double beta) {
  for (int64_t x = 0; x < K; ++x)
    for (int64_t y = 0; y < V; ++y) S[x * V + y] += beta * k[x] * v[y];
}

// o = sum_l lam[l] S^(l)T q; lam == nullptr is the plain form (one level, lambda = 1).
void read_out(const double* S, int64_t L, int64_t K, int64_t V, const double* q, const double* lam, double* o) {
  for (int64_t y = 0; y < V; ++y) o[y] = 0;
  for (int64_t l = 0; l < L; ++l)
    for (int64_t x = 0; x < K; ++x) {
      const double w = (lam ? lam[l] : 1.0) * q[x];
      for (int64_t y = 0; y < V; ++y) o[y] += w * S[(l * K + x) * V + y];
    }
}

// Where one token of one head reads its inputs in the flattened arrays.
struct Token {
  const double *q, *k, *v, *lam;
  double g, beta;
  Token(const Arrays& in, const lla::Layout& lay, int64_t row, int64_t h) {
    const int64_t grp = lay.group_of(h), rh = row * lay.H + h;
    q = &in.q[(row * lay.G + grp) * lay.K];
    k = &in.k[(row * lay.G + grp) * lay.K];
    v = &in.v[rh * lay.V];
    lam = in.ls.empty() ? nullptr : &in.ls[rh * lay.L];
    g = in.g[rh];
    beta = in.beta[rh];
  }
};

// A double vector as a tensor of `shape` in `dtype`.
Tensor tensor_of(const std::vector<double>& x, const Shape& shape, DType dtype) {
  Tensor t = Tensor::from_vector(x, shape);
  return dtype == DType::f64 ? t : core::contiguous_copy(t, dtype);
}

GatedDeltaState final_state_of(Tensor levels, const lla::Layout& lay) {
  GatedDeltaState st{std::move(levels), {}};
  for (const lla::Seq& s : lay.seqs) st.positions.push_back(s.pos + s.len);
  return st;
}

}  // namespace

GatedDeltaRuleOutput gated_delta_rule_naive(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                            const Tensor& beta, const Tensor& level_scales,
                                            const GatedDeltaRuleOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g, beta (B,T,H); level_scales (B,T,H,L) -> o (B,T,H,V).
  const lla::Layout lay = gdr::check_inputs(kNaive, q, k, v, g, beta, level_scales, options);
  const DType D = q.dtype();
  const Tensor qh = per_head(q, lay.H), kh = per_head(k, lay.H), gd = g.dtype() == D ? g : g.to(D);
  const Tensor S0 = options.has_initial_state() ? options.initial_state().levels : Tensor();
  const bool packed = options.cu_seqlens().defined();
  bool one_pos = true;
  for (const lla::Seq& s : lay.seqs) one_pos = one_pos && s.pos == lay.seqs[0].pos;

  std::vector<Tensor> os, finals;
  if (!packed && one_pos) {
    auto [o, fin] = naive_batch({qh, kh, v, gd, beta, level_scales, S0, lay.seqs[0].pos}, lay.L);
    os.push_back(o), finals.push_back(fin);
  } else {
    // One sequence at a time: rows of the packed T axis, or one batch row.
    const int64_t dim = packed ? 1 : 0;
    for (size_t n = 0; n < lay.seqs.size(); ++n) {
      const lla::Seq& s = lay.seqs[n];
      const int64_t start = packed ? s.row0 : static_cast<int64_t>(n), len = packed ? s.len : 1;
      auto part = [&](const Tensor& x) { return x.defined() ? x.narrow(dim, start, len) : Tensor(); };
      const Tensor s0 = S0.defined() ? S0.narrow(0, static_cast<int64_t>(n), 1) : Tensor();
      auto [o, fin] =
          naive_batch({part(qh), part(kh), part(v), part(gd), part(beta), part(level_scales), s0, s.pos}, lay.L);
      os.push_back(o), finals.push_back(fin);
    }
  }
  GatedDeltaRuleOutput out;
  out.o = os.size() == 1 ? os[0] : cat(os, packed ? 1 : 0);
  if (options.return_final_state())
    out.final_state = final_state_of(finals.size() == 1 ? finals[0] : cat(finals, 0), lay);
  return out;
}

GatedDeltaRuleOutput gated_delta_rule_recurrent(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                                const Tensor& beta, const Tensor& level_scales,
                                                const GatedDeltaRuleOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g, beta (B,T,H); level_scales (B,T,H,L) -> o (B,T,H,V).
  const lla::Layout lay = gdr::check_inputs(kRecurrent, q, k, v, g, beta, level_scales, options);
  const bool plain = !level_scales.defined();
  const Arrays in(q, k, v, g, beta, level_scales, options);
  const int64_t H = lay.H, K = lay.K, V = lay.V, L = lay.L, LKV = L * K * V;
  const int64_t N = static_cast<int64_t>(lay.seqs.size());
  std::vector<double> o(static_cast<size_t>(lay.rows * H * V)), fin(static_cast<size_t>(N * H * LKV), 0.0);
  std::vector<double> scratch(static_cast<size_t>(V));
  for (int64_t n = 0; n < N; ++n) {
    const lla::Seq& s = lay.seqs[n];
    for (int64_t h = 0; h < H; ++h) {
      double* S = &fin[(n * H + h) * LKV];
      if (!in.S0.empty()) std::copy_n(&in.S0[(n * H + h) * LKV], LKV, S);
      for (int64_t i = 0; i < s.len; ++i) {
        const int64_t row = s.row0 + i, t = s.pos + i;
        const Token tok(in, lay, row, h);
        if (!plain && t > 0) merge_levels(S, t - 1, K * V);
        gate(S, L, K, V, tok.k, tok.beta, std::exp(tok.g), scratch.data());
        write(S, K, V, tok.k, tok.v, tok.beta);
        read_out(S, L, K, V, tok.q, tok.lam, &o[(row * H + h) * V]);
      }
    }
  }
  GatedDeltaRuleOutput out;
  out.o = tensor_of(o, {q.size(0), q.size(1), H, V}, q.dtype());
  if (options.return_final_state()) out.final_state = final_state_of(tensor_of(fin, {N, H, L, K, V}, q.dtype()), lay);
  return out;
}

GatedDeltaRuleGrads gated_delta_rule_recurrent_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                        const Tensor& g, const Tensor& beta, const Tensor& level_scales,
                                                        const GatedDeltaRuleOptions& options, const Tensor& dout,
                                                        const Tensor& dstate_out) {
  // dout (B,T,H,V), dstate_out (N,H,L,K,V) -> dq, dk (B,T,G,K); dv (B,T,H,V); dg, dbeta (B,T,H);
  // dlevel_scales (B,T,H,L); dinitial_state (N,H,L,K,V).
  const lla::Layout lay = gdr::check_inputs(kBackward, q, k, v, g, beta, level_scales, options);
  const bool plain = !level_scales.defined();
  const int64_t H = lay.H, K = lay.K, V = lay.V, L = lay.L, KV = K * V, LKV = L * KV;
  const int64_t N = static_cast<int64_t>(lay.seqs.size());
  LOGLIN_CHECK(dout.defined() && dout.shape() == v.shape(), "[{}] dout must have o's shape {}, got {}", kBackward,
               shape_str(v.shape()), dout.defined() ? shape_str(dout.shape()) : "an undefined tensor");
  const Shape state_shape{N, H, L, K, V};
  LOGLIN_CHECK(!dstate_out.defined() || dstate_out.shape() == state_shape,
               "[{}] dstate_out must have the final state's shape {}, got {}", kBackward, shape_str(state_shape),
               dstate_out.defined() ? shape_str(dstate_out.shape()) : "");
  const Arrays in(q, k, v, g, beta, level_scales, options);
  const std::vector<double> dO = dout.to_vector<double>();
  const std::vector<double> dF = dstate_out.defined() ? dstate_out.to_vector<double>() : std::vector<double>();
  std::vector<double> dq(in.q.size(), 0.0), dk(in.k.size(), 0.0), dv(in.v.size(), 0.0), dg(in.g.size(), 0.0),
      dbeta(in.beta.size(), 0.0), dls(in.ls.size(), 0.0), dS0(static_cast<size_t>(N * H * LKV), 0.0);
  std::vector<double> S(LKV), Z(LKV), X(LKV), dS(LKV), a(V), c(V);

  for (int64_t n = 0; n < N; ++n) {
    const lla::Seq& s = lay.seqs[n];
    for (int64_t h = 0; h < H; ++h) {
      const int64_t grp = lay.group_of(h);
      // Forward, keeping every step's re-bucketed levels Y (before the gate).
      std::vector<double> Ys(static_cast<size_t>(s.len * LKV));
      std::fill(S.begin(), S.end(), 0.0);
      if (!in.S0.empty()) std::copy_n(&in.S0[(n * H + h) * LKV], LKV, S.begin());
      for (int64_t i = 0; i < s.len; ++i) {
        const int64_t t = s.pos + i;
        const Token tok(in, lay, s.row0 + i, h);
        if (!plain && t > 0) merge_levels(S.data(), t - 1, KV);
        std::copy(S.begin(), S.end(), Ys.begin() + i * LKV);
        gate(S.data(), L, K, V, tok.k, tok.beta, std::exp(tok.g), a.data());
        write(S.data(), K, V, tok.k, tok.v, tok.beta);
      }

      // Backward: dS is the adjoint of the levels after step i.
      if (dF.empty())
        std::fill(dS.begin(), dS.end(), 0.0);
      else
        std::copy_n(&dF[(n * H + h) * LKV], LKV, dS.begin());
      for (int64_t i = s.len - 1; i >= 0; --i) {
        const int64_t row = s.row0 + i, t = s.pos + i, rh = row * H + h;
        const Token tok(in, lay, row, h);
        const double e = std::exp(tok.g), b = tok.beta;
        const double* Y = &Ys[i * LKV];
        const double* dot = &dO[rh * V];
        double* dqt = &dq[(row * lay.G + grp) * K];
        double* dkt = &dk[(row * lay.G + grp) * K];
        double* dvt = &dv[rh * V];
        // Recompute Z = A Y and X = Z + beta k v^T (level 0).
        std::copy(Y, Y + LKV, Z.begin());
        gate(Z.data(), L, K, V, tok.k, b, e, a.data());
        X = Z;
        write(X.data(), K, V, tok.k, tok.v, b);

        // o = sum_l lam[l] X^(l)T q.
        for (int64_t l = 0; l < L; ++l) {
          const double lw = plain ? 1.0 : tok.lam[l];
          double dlam = 0;
          for (int64_t x = 0; x < K; ++x) {
            double r = 0;
            for (int64_t y = 0; y < V; ++y) {
              r += X[(l * K + x) * V + y] * dot[y];
              dS[(l * K + x) * V + y] += lw * tok.q[x] * dot[y];
            }
            dqt[x] += lw * r;
            dlam += tok.q[x] * r;
          }
          if (!plain) dls[rh * L + l] = dlam;
        }

        // X^(0) = Z^(0) + beta k v^T.
        double db = 0;
        for (int64_t x = 0; x < K; ++x)
          for (int64_t y = 0; y < V; ++y) {
            const double dw = dS[x * V + y];
            db += tok.k[x] * dw * tok.v[y];
            dkt[x] += b * dw * tok.v[y];
            dvt[y] += b * dw * tok.k[x];
          }

        // Z^(l) = e (Y^(l) - b k (k^T Y^(l))), dZ = dS: dg = sum_l <dZ, Z>;
        // with a = Y^T k, c = dZ^T k: dbeta -= e a.c, dk -= e b (dZ a + Y c),
        // and dY = A^T dZ = e (dZ - b k c^T) (A is symmetric).
        double dgt = 0;
        for (int64_t e_ = 0; e_ < LKV; ++e_) dgt += dS[e_] * Z[e_];
        for (int64_t l = 0; l < L; ++l) {
          const double* Yl = Y + l * KV;
          double* dZl = &dS[l * KV];
          std::fill(a.begin(), a.end(), 0.0);
          std::fill(c.begin(), c.end(), 0.0);
          for (int64_t x = 0; x < K; ++x)
            for (int64_t y = 0; y < V; ++y) {
              a[y] += Yl[x * V + y] * tok.k[x];
              c[y] += dZl[x * V + y] * tok.k[x];
            }
          for (int64_t y = 0; y < V; ++y) db -= e * a[y] * c[y];
          for (int64_t x = 0; x < K; ++x) {
            double acc = 0;
            for (int64_t y = 0; y < V; ++y) acc += dZl[x * V + y] * a[y] + Yl[x * V + y] * c[y];
            dkt[x] -= e * b * acc;
          }
          for (int64_t x = 0; x < K; ++x)
            for (int64_t y = 0; y < V; ++y) dZl[x * V + y] = e * (dZl[x * V + y] - b * tok.k[x] * c[y]);
        }
        dg[rh] = dgt;
        dbeta[rh] = db;

        // Re-bucketing copied levels 0..m+1 into level m+1 and emptied 0..m.
        if (!plain && t > 0) {
          const int m = std::countr_one(static_cast<uint64_t>(t - 1));
          for (int l = 0; l <= m; ++l) std::copy_n(&dS[(m + 1) * KV], KV, &dS[l * KV]);
        }
      }
      std::copy(dS.begin(), dS.end(), dS0.begin() + (n * H + h) * LKV);
    }
  }

  GatedDeltaRuleGrads r;
  r.dq = tensor_of(dq, q.shape(), q.dtype());
  r.dk = tensor_of(dk, k.shape(), k.dtype());
  r.dv = tensor_of(dv, v.shape(), v.dtype());
  r.dg = tensor_of(dg, g.shape(), g.dtype());
  r.dbeta = tensor_of(dbeta, beta.shape(), beta.dtype());
  if (!plain) r.dlevel_scales = tensor_of(dls, level_scales.shape(), level_scales.dtype());
  if (options.has_initial_state())
    r.dinitial_state = tensor_of(dS0, state_shape, options.initial_state().levels.dtype());
  return r;
}

}  // namespace loglin

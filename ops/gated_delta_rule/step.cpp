// Recurrent decoding of the gated delta rule (step.h): checks, then one
// (sequence, head) at a time in the compute type with double accumulation of
// the dot products. From the last consumed position c to t = c + 1:
//   1. (log-linear form) with m = trailing one bits of c: S[m+1] += S[0..m],
//      S[0..m] = 0, exactly as log-linear attention's step re-buckets;
//   2. S[l] <- exp(g_t) (S[l] - beta_t k_t (k_t^T S[l])) for every level;
//   3. S[0] += beta_t k_t v_t^T;
//   then o_t = sum_l lambda_t[l] S[l]^T q_t.
#include "ops/gated_delta_rule/step.h"

#include <bit>
#include <cmath>
#include <initializer_list>
#include <utility>

#include "autograd/grad_mode.h"
#include "core/dispatch.h"
#include "ops/gated_delta_rule/gated_delta_rule.h"
#include "ops/shape/view_ops.h"
#include "ops/chunk_layout/layout.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

constexpr const char* kStep = "gated_delta_rule_step";

// q, k (K); v, o (V); lam (L), nullptr for the plain form; S (L,K,V) updated in place.
template <class T>
void step_head(const T* q, const T* k, const T* v, T g, T beta, const T* lam, int64_t pos, int64_t L, int64_t K,
               int64_t V, T* S, T* o) {
  const int64_t kv = K * V;
  if (lam && pos > 0) {
    const int m = std::countr_one(static_cast<uint64_t>(pos - 1));
    T* dst = S + (m + 1) * kv;
    for (int l = 0; l <= m; ++l)
      for (int64_t e = 0; e < kv; ++e) {
        dst[e] += S[l * kv + e];
        S[l * kv + e] = T(0);
      }
  }
  const double decay = std::exp(static_cast<double>(g)), b = static_cast<double>(beta);
  for (int64_t l = 0; l < L; ++l) {
    T* Sl = S + l * kv;
    for (int64_t y = 0; y < V; ++y) {
      double a = 0;  // (k^T S[l])_y
      for (int64_t x = 0; x < K; ++x) a += static_cast<double>(k[x]) * Sl[x * V + y];
      for (int64_t x = 0; x < K; ++x) Sl[x * V + y] = static_cast<T>(decay * (Sl[x * V + y] - b * k[x] * a));
    }
  }
  for (int64_t x = 0; x < K; ++x)
    for (int64_t y = 0; y < V; ++y) S[x * V + y] += static_cast<T>(b * k[x] * v[y]);
  for (int64_t y = 0; y < V; ++y) {
    double acc = 0;
    for (int64_t l = 0; l < L; ++l) {
      double r = 0;
      for (int64_t x = 0; x < K; ++x) r += static_cast<double>(q[x]) * S[(l * K + x) * V + y];
      acc += (lam ? static_cast<double>(lam[l]) : 1.0) * r;
    }
    o[y] = static_cast<T>(acc);
  }
}

// The checks; returns L (1 for the plain form).
int64_t check_step(const GatedDeltaState& state, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                   const Tensor& beta, const Tensor& ls) {
  const bool plain = !ls.defined();
  check_defined(kStep, {&q, &k, &v, &g, &beta});
  LOGLIN_CHECK(state.levels.defined(), "[{}] the state has no levels tensor", kStep);
  for (const Tensor* t : {&q, &k, &v, &g, &beta, &ls})
    if (t->defined()) check_same_device(kStep, *t, state.levels);
  check_dim(kStep, q, 3, "q [N, G, K]");
  check_dim(kStep, k, 3, "k [N, G, K]");
  check_dim(kStep, v, 3, "v [N, H, V]");
  check_dim(kStep, g, 2, "g [N, H]");
  check_dim(kStep, beta, 2, "beta [N, H]");
  if (!plain) check_dim(kStep, ls, 3, "level_scales [N, H, L]");
  check_dim(kStep, state.levels, 5, "state levels [N, H, L, K, V]");
  const int64_t N = q.size(0), G = q.size(1), K = q.size(2), H = v.size(1), V = v.size(2);
  const int64_t L = plain ? 1 : ls.size(2);
  LOGLIN_CHECK(k.shape() == q.shape(), "[{}] q and k must have the same shape [N, G, K], got {} and {}", kStep,
               shape_str(q.shape()), shape_str(k.shape()));
  LOGLIN_CHECK(N >= 1 && K >= 1 && V >= 1 && G >= 1 && H % G == 0,
               "[{}] need N, K, V >= 1 and the q/k groups G = {} dividing the heads H = {}; got q {}, v {}", kStep, G,
               H, shape_str(q.shape()), shape_str(v.shape()));
  LOGLIN_CHECK(v.size(0) == N && g.shape() == (Shape{N, H}) && beta.shape() == (Shape{N, H}) &&
                   (plain || (ls.size(0) == N && ls.size(1) == H)),
               "[{}] expected v [N, H, V], g [N, H], beta [N, H]{} with N = {}, H = {}; got v {}, g {}, beta {}{}",
               kStep, plain ? "" : ", level_scales [N, H, L]", N, H, shape_str(v.shape()), shape_str(g.shape()),
               shape_str(beta.shape()), plain ? "" : ", level_scales " + shape_str(ls.shape()));
  const Shape want{N, H, L, K, V};
  LOGLIN_CHECK(state.levels.shape() == want, "[{}] state levels must be [N, H, L, K, V] = {} ({}), got {}", kStep,
               shape_str(want), plain ? "L = 1 for the plain form" : "L from level_scales",
               shape_str(state.levels.shape()));
  LOGLIN_CHECK(static_cast<int64_t>(state.positions.size()) == N, "[{}] the state has {} positions for N = {}", kStep,
               state.positions.size(), N);

  const DType D = q.dtype(), C = D == DType::bf16 ? DType::f32 : D;
  LOGLIN_CHECK(D == DType::f32 || D == DType::f64 || D == DType::bf16, "[{}] q must be f32, f64 or bf16, got {}", kStep,
               dtype_name(D));
  for (const auto& [t, name] :
       {std::pair{&k, "k"}, std::pair{&v, "v"}, std::pair{&beta, "beta"}, std::pair{&ls, "level_scales"}})
    LOGLIN_CHECK(!t->defined() || t->dtype() == D, "[{}] {} is {} but q is {}: they must share one dtype", kStep, name,
                 dtype_name(t->dtype()), dtype_name(D));
  LOGLIN_CHECK(g.dtype() == DType::f32 || (g.dtype() == DType::f64 && D == DType::f64),
               "[{}] g must be f32 (f64 only with f64 inputs), got {}", kStep, dtype_name(g.dtype()));
  LOGLIN_CHECK(state.levels.dtype() == C, "[{}] state levels are {} but {} inputs compute in {}", kStep,
               dtype_name(state.levels.dtype()), dtype_name(D), dtype_name(C));

  std::vector<double> lv;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t pos = state.positions[n];
    LOGLIN_CHECK(pos >= 0, "[{}] position {} of sequence {} is negative", kStep, pos, n);
    LOGLIN_CHECK(plain || L >= lla::bit_length(pos) + 1,
                 "[{}] level_scales has L = {} levels but position {} needs L >= bit_length({}) + 1 = {}", kStep, L,
                 pos, pos, lla::bit_length(pos) + 1);
    // On cuda these value checks would wait for the device (as the op's do).
    if (pos != 0 || !state.levels.device().is_cpu()) continue;
    if (lv.empty()) lv = state.levels.to_vector<double>();
    for (int64_t x = n * H * L * K * V; x < (n + 1) * H * L * K * V; ++x)
      LOGLIN_CHECK(lv[x] == 0, "[{}] sequence {} is at position 0 (holds no tokens) but its levels are not zero", kStep,
                   n);
  }
  if (g.device().is_cpu())
    for (double x : g.to_vector<double>())
      LOGLIN_CHECK(std::isfinite(x), "[{}] g has a non-finite value ({}): the decays must be finite", kStep, x);
  return L;
}

// On CUDA the step is the op's forward over one token from the state, with
// the final state returned: the CUDA version the op picks (v1's per-level
// recurrence, or v2's chunked form over a one-row chunk) does exactly the
// step's update, and nothing is recorded.
Tensor step_on_cuda(GatedDeltaState& state, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                    const Tensor& beta, const Tensor& ls) {
  NoGradGuard no_grad;
  const auto one = [](const Tensor& t) { return t.defined() ? unsqueeze(t, 1) : Tensor(); };
  const GatedDeltaRuleOptions o = GatedDeltaRuleOptions().initial_state(state).return_final_state();
  GatedDeltaRuleOutput out =
      ls.defined() ? log_linear_gated_delta_rule_with_state(one(q), one(k), one(v), one(g), one(beta), one(ls), o)
                   : gated_delta_rule_with_state(one(q), one(k), one(v), one(g), one(beta), o);
  state = std::move(out.final_state);
  const Tensor o1 = squeeze(out.o, 1);
  return o1.dtype() == state.levels.dtype() ? o1 : o1.to(state.levels.dtype());
}

}  // namespace

Tensor gated_delta_rule_step(GatedDeltaState& state, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                             const Tensor& beta, const Tensor& level_scales) {
  // q, k (N,G,K); v (N,H,V); g, beta (N,H); level_scales (N,H,L); state.levels (N,H,L,K,V) -> o (N,H,V).
  const int64_t L = check_step(state, q, k, v, g, beta, level_scales);
  const bool plain = !level_scales.defined();
  if (state.levels.device().is_cuda()) return step_on_cuda(state, q, k, v, g, beta, level_scales);
  const int64_t N = q.size(0), G = q.size(1), K = q.size(2), H = v.size(1), V = v.size(2);
  const DType D = state.levels.dtype();
  // A fresh levels tensor: a forward's final state may sit in an autograd graph.
  Tensor S = core::contiguous_copy(state.levels, D);
  const Tensor qc = core::contiguous_copy(q, D), kc = core::contiguous_copy(k, D), vc = core::contiguous_copy(v, D),
               gc = core::contiguous_copy(g, D), bc = core::contiguous_copy(beta, D),
               lc = plain ? Tensor() : core::contiguous_copy(level_scales, D);
  Tensor o = Tensor::empty({N, H, V}, D);
  dispatch_float(D, kStep, [&]<class T>() {
    const int64_t per = H / G, jobs = N * H;
    const T *pq = qc.data<T>(), *pk = kc.data<T>(), *pv = vc.data<T>(), *pg = gc.data<T>(), *pb = bc.data<T>();
    const T* pl = plain ? nullptr : lc.data<T>();
    T *pS = S.data<T>(), *po = o.data<T>();
    const int64_t* pos = state.positions.data();
#pragma omp parallel for if (jobs * L * K * V > (1 << 16))
    for (int64_t job = 0; job < jobs; ++job) {
      const int64_t n = job / H, h = job % H, grp = h / per;
      step_head<T>(pq + (n * G + grp) * K, pk + (n * G + grp) * K, pv + job * V, pg[job], pb[job],
                   pl ? pl + job * L : nullptr, pos[n], L, K, V, pS + job * L * K * V, po + job * V);
    }
  });
  state.levels = S;
  for (auto& p : state.positions) ++p;
  return o;
}

}  // namespace loglin

// Recurrent decoding (SPEC section 4): one token per sequence on a
// LogLinearState, O(L K V) per head. From the last consumed position c to
// t = c + 1, with k = number of trailing one bits of c:
//   1. merge: S[k+1] += S[0] + ... + S[k]; clear S[0..k]. (From t, every
//      source of levels 0..k+1 is at level k+1: level(t, s) = max(k+1, l).
//      S[k+1] is empty for states this code builds, but adding keeps any
//      state consistent with the chunked forward's max() rule.)
//   2. decay every level by exp(g_t);
//   3. S[0] = k_t v_t^T;
//   then o_t = sum_l lambda_t[l] q_t^T S[l].
#include <bit>
#include <cmath>

#include "core/dispatch.h"
#include "ops/log_linear_attention/cpu/chunk_cpu.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/cuda/recurrent_step_cuda.h"
#endif

namespace loglin {
namespace {

using lla::kOpName;

template <class T>
void step_head(const T* q, const T* k, const T* v, T g, const T* lam, int64_t pos, int64_t L, int64_t K, int64_t V,
               T* S, T* o) {
  // q, k (K); v, o (V); lam (L); S (L, K, V) updated in place.
  const int64_t kv = K * V;
  if (pos > 0) {
    const int trailing = std::countr_one(static_cast<uint64_t>(pos - 1));
    T* dst = S + (trailing + 1) * kv;
    for (int l = 0; l <= trailing; ++l) {
      T* src = S + l * kv;
      for (int64_t e = 0; e < kv; ++e) {
        dst[e] += src[e];
        src[e] = T(0);
      }
    }
  }
  const T decay = static_cast<T>(std::exp(static_cast<double>(g)));
  for (int64_t e = 0; e < L * kv; ++e) S[e] *= decay;
  for (int64_t x = 0; x < K; ++x)
    for (int64_t y = 0; y < V; ++y) S[x * V + y] += k[x] * v[y];
  for (int64_t y = 0; y < V; ++y) o[y] = T(0);
  for (int64_t l = 0; l < L; ++l) {
    const T* Sl = S + l * kv;
    for (int64_t x = 0; x < K; ++x) {
      const T w = lam[l] * q[x];
      if (w == T(0)) continue;
      for (int64_t y = 0; y < V; ++y) o[y] += w * Sl[x * V + y];
    }
  }
}

}  // namespace

Tensor log_linear_attention_step(LogLinearState& state, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& g, const Tensor& level_scales) {
  // q, k (N,G,K); v (N,H,V); g (N,H); level_scales (N,H,L); state.levels (N,H,L,K,V) -> o (N,H,V).
  check_defined(kOpName, {&q, &k, &v, &g, &level_scales, &state.levels});
  for (const Tensor* t : std::initializer_list<const Tensor*>{&q, &k, &v, &g, &level_scales})
    check_same_device(kOpName, *t, state.levels);
  check_dim(kOpName, q, 3, "step q [N, G, K]");
  check_dim(kOpName, k, 3, "step k [N, G, K]");
  check_dim(kOpName, v, 3, "step v [N, H, V]");
  check_dim(kOpName, g, 2, "step g [N, H]");
  check_dim(kOpName, level_scales, 3, "step level_scales [N, H, L]");
  check_dim(kOpName, state.levels, 5, "state levels [N, H, L, K, V]");
  const int64_t N = q.size(0), G = q.size(1), K = q.size(2), H = v.size(1), V = v.size(2), L = level_scales.size(2);
  LOGLIN_CHECK(k.shape() == q.shape(), "[{}] step: q and k must have the same shape, got {} and {}", kOpName,
               shape_str(q.shape()), shape_str(k.shape()));
  LOGLIN_CHECK(G >= 1 && H % G == 0, "[{}] step: the q/k groups G = {} must divide the heads H = {}", kOpName, G, H);
  LOGLIN_CHECK(v.size(0) == N && g.shape() == (Shape{N, H}) && level_scales.size(0) == N && level_scales.size(1) == H,
               "[{}] step: expected v [N, H, V], g [N, H], level_scales [N, H, L] with N = {}, H = {}; got {}, {}, {}",
               kOpName, N, H, shape_str(v.shape()), shape_str(g.shape()), shape_str(level_scales.shape()));
  const Shape want{N, H, L, K, V};
  LOGLIN_CHECK(state.levels.shape() == want, "[{}] step: state levels must be [N, H, L, K, V] = {}, got {}", kOpName,
               shape_str(want), shape_str(state.levels.shape()));
  LOGLIN_CHECK(static_cast<int64_t>(state.positions.size()) == N, "[{}] step: state has {} positions for N = {}",
               kOpName, state.positions.size(), N);
  const DType D = state.levels.dtype();
  LOGLIN_CHECK(D == DType::f32 || D == DType::f64, "[{}] step: state levels must be f32 or f64, got {}", kOpName,
               dtype_name(D));
  for (int64_t n = 0; n < N; ++n) {
    const int64_t pos = state.positions[n];
    LOGLIN_CHECK(pos >= 0, "[{}] step: position {} of sequence {} is negative", kOpName, pos, n);
    LOGLIN_CHECK(L >= lla::bit_length(pos) + 1,
                 "[{}] step: level_scales has L = {} levels but position {} needs L >= bit_length({}) + 1 = {}",
                 kOpName, L, pos, pos, lla::bit_length(pos) + 1);
  }
  // The value checks below read device tensors back to the host, so they run
  // on the cpu only: a step on cuda never waits for the device.
  const bool host = state.levels.device().is_cpu();
  std::vector<double> lv;
  for (int64_t n = 0; n < N && host; ++n) {
    if (state.positions[n] != 0) continue;
    if (lv.empty()) lv = state.levels.to_vector<double>();
    for (int64_t x = n * H * L * K * V; x < (n + 1) * H * L * K * V; ++x)
      LOGLIN_CHECK(lv[x] == 0, "[{}] step: sequence {} is at position 0 (holds no tokens) but its levels are not zero",
                   kOpName, n);
  }
  if (host)
    for (double x : g.to_vector<double>())
      LOGLIN_CHECK(std::isfinite(x), "[{}] step: g has a non-finite value ({})", kOpName, x);

#if LOGLIN_WITH_CUDA
  if (on_cuda(state.levels)) {
    const Device dev = state.levels.device();
    auto prep = [&](const Tensor& t) { return t.is_contiguous() && t.dtype() == D ? t : core::contiguous_copy(t, D); };
    const Tensor Sin = prep(state.levels), qc = prep(q), kc = prep(k), vc = prep(v), gc = prep(g),
                 lc = prep(level_scales);
    Tensor S = Tensor::empty(want, D, dev), o = Tensor::empty({N, H, V}, D, dev);
    const Tensor pos = Tensor::from_vector(state.positions, {N}).to(dev);
    dispatch_float(D, kOpName, [&]<class T>() {
      lla::log_linear_attention_step_cuda<T>(qc.data<T>(), kc.data<T>(), vc.data<T>(), gc.data<T>(), lc.data<T>(),
                                             Sin.data<T>(), S.data<T>(), o.data<T>(), pos.data<int64_t>(), N, H, G,
                                             L, K, V, dev.index);
    });
    state.levels = S;
    for (auto& p : state.positions) ++p;
    return o;
  }
#endif

  // A fresh levels tensor: tensors handed out before (a forward's final
  // state, which may sit in an autograd graph) are never written.
  Tensor S = core::contiguous_copy(state.levels, D);
  Tensor qc = core::contiguous_copy(q, D), kc = core::contiguous_copy(k, D), vc = core::contiguous_copy(v, D),
         gc = core::contiguous_copy(g, D), lc = core::contiguous_copy(level_scales, D);
  Tensor o = Tensor::empty({N, H, V}, D);
  dispatch_float(D, kOpName, [&]<class T>() {
    const int64_t per = H / G, jobs = N * H;
    const T *pq = qc.data<T>(), *pk = kc.data<T>(), *pv = vc.data<T>(), *pg = gc.data<T>(), *pl = lc.data<T>();
    T *pS = S.data<T>(), *po = o.data<T>();
    const int64_t* pos = state.positions.data();
#pragma omp parallel for if (jobs * L * K * V > (1 << 16))
    for (int64_t job = 0; job < jobs; ++job) {
      const int64_t n = job / H, h = job % H, grp = h / per;
      step_head<T>(pq + (n * G + grp) * K, pk + (n * G + grp) * K, pv + job * V, pg[job], pl + job * L, pos[n], L, K,
                   V, pS + job * L * K * V, po + job * V);
    }
  });
  state.levels = S;
  for (auto& p : state.positions) ++p;
  return o;
}

}  // namespace loglin

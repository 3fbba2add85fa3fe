// log_linear_attention's input checks (checks.h): q, k, v, g through the
// family's check_qkvg, then level_scales, the initial state and the levels
// the last position needs.
#include "ops/log_linear_attention/checks.h"

#include <algorithm>

#include "ops/op_checks.h"

namespace loglin::lla {

namespace {


void check_state(const LogLinearState& st, const Layout& lay, DType dtype, const Tensor& q) {
  const int64_t N = static_cast<int64_t>(lay.seqs.size());
  LOGLIN_CHECK(st.levels.defined(), "[{}] the initial state has no levels tensor", kOpName);
  check_same_device(kOpName, st.levels, q);
  const Shape want{N, lay.H, lay.L, lay.K, lay.V};
  LOGLIN_CHECK(st.levels.shape() == want,
               "[{}] initial state levels must be [N, H, L, K, V] = {} (N = {} sequences), got {}", kOpName,
               shape_str(want), N, shape_str(st.levels.shape()));
  LOGLIN_CHECK(st.levels.dtype() == dtype, "[{}] initial state levels are {} but the inputs compute in {}", kOpName,
               dtype_name(st.levels.dtype()), dtype_name(dtype));
  LOGLIN_CHECK(static_cast<int64_t>(st.positions.size()) == N,
               "[{}] initial state has {} positions for {} sequences", kOpName, st.positions.size(), N);
  std::vector<double> lv;
  for (int64_t n = 0; n < N; ++n) {
    LOGLIN_CHECK(st.positions[n] >= 0, "[{}] initial state position {} of sequence {} is negative", kOpName,
                 st.positions[n], n);
    // On cuda this value check would wait for the device; the kernels ignore
    // the levels of a sequence at position 0 anyway.
    if (st.positions[n] != 0 || !st.levels.device().is_cpu()) continue;
    if (lv.empty()) lv = st.levels.to_vector<double>();
    const int64_t per = lay.H * lay.L * lay.K * lay.V;
    for (int64_t x = n * per; x < (n + 1) * per; ++x)
      LOGLIN_CHECK(lv[x] == 0, "[{}] initial state of sequence {} is at position 0 (holds no tokens) but its "
                   "levels are not zero", kOpName, n);
  }
}

}  // namespace

Layout check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls,
                    const Tensor& cu_seqlens, int64_t chunk, const LogLinearState* state, bool bf16_ok) {
  check_defined(kOpName, {&ls});
  check_same_device(kOpName, ls, q);
  check_dim(kOpName, ls, 4, "level_scales [B, T, H, L]");
  Layout lay = check_qkvg(kOpName, q, k, v, g, cu_seqlens, chunk, bf16_ok);
  const int64_t B = q.size(0), T = q.size(1), H = lay.H;
  LOGLIN_CHECK(ls.size(0) == B && ls.size(1) == T && ls.size(2) == H,
               "[{}] level_scales must be [B, T, H, L] with [B, T, H] = {}, got {}", kOpName, shape_str(Shape{B, T, H}),
               shape_str(ls.shape()));
  LOGLIN_CHECK(ls.dtype() == q.dtype(),
               "[{}] level_scales is {} but q is {}: q, k, v and level_scales must share one dtype", kOpName,
               dtype_name(ls.dtype()), dtype_name(q.dtype()));
  lay.L = ls.size(3);
  if (state) {
    check_state(*state, lay, q.dtype() == DType::bf16 ? DType::f32 : q.dtype(), q);
    for (size_t n = 0; n < lay.seqs.size(); ++n) lay.seqs[n].pos = state->positions[n];
  }
  int64_t last = 0;
  for (const Seq& s : lay.seqs) last = std::max(last, s.pos + s.len - 1);
  LOGLIN_CHECK(lay.L >= bit_length(last) + 1,
               "[{}] level_scales has L = {} levels but the last position {} needs L >= bit_length({}) + 1 = {}", kOpName,
               lay.L, last, last, bit_length(last) + 1);
  return lay;
}

}  // namespace loglin::lla

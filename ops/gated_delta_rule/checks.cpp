// The gated delta rule's input checks (checks.h), shared by the entry, the
// answer keys and every implementation.
#include "ops/gated_delta_rule/checks.h"

#include <algorithm>
#include <vector>

#include "ops/chunk_layout/checks.h"
#include "ops/op_checks.h"

namespace loglin {

namespace gdr {
namespace {

void check_state(const char* op, const GatedDeltaState& st, const lla::Layout& lay, bool plain, const Tensor& q) {
  const int64_t N = static_cast<int64_t>(lay.seqs.size());
  LOGLIN_CHECK(st.levels.defined(), "[{}] the initial state has no levels tensor", op);
  check_same_device(op, st.levels, q);
  const Shape want{N, lay.H, lay.L, lay.K, lay.V};
  LOGLIN_CHECK(st.levels.shape() == want,
               "[{}] initial state levels must be [N, H, L, K, V] = {} (N = {} sequences, {}), got {}", op,
               shape_str(want), N, plain ? "L = 1 for the plain form" : "L from level_scales",
               shape_str(st.levels.shape()));
  LOGLIN_CHECK(st.levels.dtype() == q.dtype(), "[{}] initial state levels are {} but q is {}: they must match", op,
               dtype_name(st.levels.dtype()), dtype_name(q.dtype()));
  LOGLIN_CHECK(static_cast<int64_t>(st.positions.size()) == N, "[{}] initial state has {} positions for {} sequences",
               op, st.positions.size(), N);
  std::vector<double> lv;
  const int64_t per = lay.H * lay.L * lay.K * lay.V;
  for (int64_t n = 0; n < N; ++n) {
    LOGLIN_CHECK(st.positions[n] >= 0, "[{}] initial state position {} of sequence {} is negative", op, st.positions[n],
                 n);
    if (st.positions[n] != 0 || !st.levels.device().is_cpu()) continue;
    if (lv.empty()) lv = st.levels.to_vector<double>();
    for (int64_t x = n * per; x < (n + 1) * per; ++x)
      LOGLIN_CHECK(lv[x] == 0,
                   "[{}] initial state of sequence {} is at position 0 (holds no tokens) but its levels are not zero",
                   op, n);
  }
}

}  // namespace

lla::Layout check_inputs(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                         const Tensor& beta, const Tensor& level_scales, const GatedDeltaRuleOptions& options) {
  lla::Layout lay = lla::check_qkvg(op, q, k, v, g, options.cu_seqlens(), options.chunk_size());
  const int64_t B = q.size(0), T = q.size(1), H = lay.H;
  LOGLIN_CHECK(beta.defined(), "[{}] beta is undefined: it must be [B, T, H]", op);
  check_same_device(op, beta, q);
  LOGLIN_CHECK(beta.shape() == (Shape{B, T, H}), "[{}] beta must be [B, T, H] = {}, got {}", op,
               shape_str(Shape{B, T, H}), shape_str(beta.shape()));
  LOGLIN_CHECK(beta.dtype() == q.dtype(), "[{}] beta is {} but q is {}: q, k, v and beta must share one dtype", op,
               dtype_name(beta.dtype()), dtype_name(q.dtype()));
  const bool plain = !level_scales.defined();
  lay.L = 1;
  if (!plain) {
    check_same_device(op, level_scales, q);
    check_dim(op, level_scales, 4, "level_scales [B, T, H, L]");
    LOGLIN_CHECK(level_scales.size(0) == B && level_scales.size(1) == T && level_scales.size(2) == H,
                 "[{}] level_scales must be [B, T, H, L] with [B, T, H] = {}, got {}", op, shape_str(Shape{B, T, H}),
                 shape_str(level_scales.shape()));
    LOGLIN_CHECK(level_scales.dtype() == q.dtype(),
                 "[{}] level_scales is {} but q is {}: q, k, v and level_scales must share one dtype", op,
                 dtype_name(level_scales.dtype()), dtype_name(q.dtype()));
    lay.L = level_scales.size(3);
  }
  if (options.has_initial_state()) {
    const GatedDeltaState& st = options.initial_state();
    check_state(op, st, lay, plain, q);
    for (size_t n = 0; n < lay.seqs.size(); ++n) lay.seqs[n].pos = st.positions[n];
  }
  if (!plain) {
    int64_t last = 0;
    for (const lla::Seq& s : lay.seqs) last = std::max(last, s.pos + s.len - 1);
    LOGLIN_CHECK(lay.L >= lla::bit_length(last) + 1,
                 "[{}] level_scales has L = {} levels but the last position {} needs L >= bit_length({}) + 1 = {}", op,
                 lay.L, last, last, lla::bit_length(last) + 1);
  }
  return lay;
}

}  // namespace gdr

}  // namespace loglin

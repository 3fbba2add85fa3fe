#include "ops/attention/causal_attention_varlen.h"

#include "ops/attention/causal_attention.h"
#include "ops/chunk_layout/checks.h"
#include "ops/op_checks.h"
#include "ops/shape/cat.h"

namespace loglin {

// q, k, v (1,H,T,D), cu_seqlens (N+1) -> (1,H,T,D)
Tensor causal_attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                               const Tensor& cu_seqlens) {
  const char* op = "causal_attention_varlen";
  check_defined(op, {&q, &k, &v, &cu_seqlens});
  check_dim(op, q, 4, "q [1, H, T, D]");
  LOGLIN_CHECK(k.shape() == q.shape() && v.shape() == q.shape(),
               "[{}] q, k and v must share one shape [1, H, T, D], got {}, {} and {}", op, shape_str(q.shape()),
               shape_str(k.shape()), shape_str(v.shape()));
  const std::vector<int64_t> cu = lla::read_cu_seqlens(op, cu_seqlens, q.size(0), q.size(2));
  if (cu.size() == 2) return causal_attention(q, k, v, scale);
  std::vector<Tensor> parts;
  parts.reserve(cu.size() - 1);
  for (size_t d = 0; d + 1 < cu.size(); ++d) {
    const int64_t s = cu[d], n = cu[d + 1] - cu[d];
    parts.push_back(causal_attention(q.narrow(2, s, n), k.narrow(2, s, n), v.narrow(2, s, n), scale));
  }
  return cat(parts, 2);
}

}  // namespace loglin

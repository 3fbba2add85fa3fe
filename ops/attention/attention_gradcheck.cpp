// Gradcheck cases for causal_attention: training (S == T), a KV-cache
// continuation (S > T), one decode step (T == 1), head dims that are not
// powers of two, and a transposed (non-contiguous) q. The packed-document
// form (causal_attention_varlen): documents of 3, 1 and 4 positions.
#include "ops/attention/causal_attention.h"
#include "ops/attention/causal_attention_varlen.h"
#include "ops/gradcheck_cases.h"

namespace loglin {

void add_attention_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  struct Config {
    int64_t B, H, T, S, D;
    double scale;
  };
  const std::vector<Config> configs = {
      {1, 2, 5, 5, 4, 0.5}, {2, 1, 3, 7, 5, 0.45}, {1, 2, 1, 6, 3, 0.6}, {1, 1, 9, 9, 6, 0.4}};
  for (const Config& c : configs) {
    const Shape qs{c.B, c.H, c.T, c.D}, ks{c.B, c.H, c.S, c.D};
    cases.push_back({"causal_attention", gc_label({{"q", qs}, {"k", ks}, {"v", ks}}) + " scale " + std::to_string(c.scale),
                     [qs, ks](Generator& g) {
                       return std::vector<Tensor>{gc_randn(g, qs), gc_randn(g, ks), gc_randn(g, ks)};
                     },
                     [scale = c.scale](const std::vector<Tensor>& x) {
                       return causal_attention(x[0], x[1], x[2], scale);
                     }});
  }
  cases.push_back({"causal_attention", "q[1,4,2,3]^T(1,2) k[1,2,4,3] v[1,2,4,3]",
                   [](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, {1, 4, 2, 3}), gc_randn(g, {1, 2, 4, 3}),
                                                gc_randn(g, {1, 2, 4, 3})};
                   },
                   [](const std::vector<Tensor>& x) {
                     return causal_attention(x[0].transpose(1, 2), x[1], x[2], 0.5);
                   }});
  const Tensor cu = Tensor::from_vector(std::vector<int64_t>{0, 3, 4, 8}, {4});
  cases.push_back({"causal_attention_varlen", "q[1,2,8,3] k[1,2,8,3] v[1,2,8,3], cu_seqlens {0, 3, 4, 8}",
                   [](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, {1, 2, 8, 3}), gc_randn(g, {1, 2, 8, 3}),
                                                gc_randn(g, {1, 2, 8, 3})};
                   },
                   [cu](const std::vector<Tensor>& x) { return causal_attention_varlen(x[0], x[1], x[2], 0.5, cu); }});
}

}  // namespace loglin

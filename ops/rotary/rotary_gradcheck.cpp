// Gradcheck cases for rotary_embedding: contiguous input and a strided
// (transposed) one, as the attention layer passes head slices.
#include "ops/gradcheck_cases.h"
#include "ops/rotary/rotary.h"

namespace loglin {

void add_rotary_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  cases.push_back({"rotary_embedding", gc_label({{"x", {2, 3, 5, 6}}, {"cos", {5, 3}}, {"sin", {5, 3}}}),
                   [](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, {2, 3, 5, 6}), gc_uniform(g, {5, 3}, -1, 1, false),
                                                gc_uniform(g, {5, 3}, -1, 1, false)};
                   },
                   [](const std::vector<Tensor>& x) { return rotary_embedding(x[0], x[1], x[2]); }});
  cases.push_back({"rotary_embedding", "x[3,2,4,4] as [3,4,2,4] transposed",
                   [](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, {3, 2, 4, 4}), gc_uniform(g, {2, 2}, -1, 1, false),
                                                gc_uniform(g, {2, 2}, -1, 1, false)};
                   },
                   [](const std::vector<Tensor>& x) {
                     return rotary_embedding(x[0].transpose(1, 2), x[1], x[2]);
                   }});
}

}  // namespace loglin

// Gradcheck cases for matmul: plain, batched with broadcast, vectors.
#include "ops/gradcheck_cases.h"
#include "ops/matmul/matmul.h"

namespace loglin {

void add_matmul_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {4, 5}}, {{2, 3, 4}, {4, 2}}, {{2, 1, 3, 4}, {3, 4, 2}}, {{4}, {4, 3}}, {{3, 4}, {4}}};
  for (const auto& [sa, sb] : shapes)
    cases.push_back({"matmul", gc_label({{"a", sa}, {"b", sb}}),
                     [sa, sb](Generator& g) { return std::vector<Tensor>{gc_randn(g, sa), gc_randn(g, sb)}; },
                     [](const std::vector<Tensor>& x) { return matmul(x[0], x[1]); }});
  cases.push_back({"matmul", "a[4,3]^T b[4,5] (transposed view)",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {4, 3}), gc_randn(g, {4, 5})}; },
                   [](const std::vector<Tensor>& x) { return matmul(x[0].transpose(0, 1), x[1]); }});
}

}  // namespace loglin

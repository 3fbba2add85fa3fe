// Gradcheck cases for softmax and log_softmax: the last dim (the row kernel)
// and a leading/middle dim (the tiled [outer, C, inner] kernel).
#include "ops/gradcheck_cases.h"
#include "ops/softmax/softmax.h"

namespace loglin {

void add_softmax_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  const std::vector<std::pair<Shape, int64_t>> configs = {{{3, 5}, -1}, {{3, 5}, 0}, {{2, 4, 3}, 1}, {{6}, 0}};
  for (const auto& [s, dim] : configs) {
    auto in = [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; };
    std::string label = gc_label({{"x", s}}) + " dim " + std::to_string(dim);
    cases.push_back({"softmax", label, in, [dim](const std::vector<Tensor>& x) { return softmax(x[0], dim); }});
    cases.push_back(
        {"log_softmax", label, in, [dim](const std::vector<Tensor>& x) { return log_softmax(x[0], dim); }});
  }
  // A transposed (non-contiguous) input.
  cases.push_back({"softmax", "x[5,3]^T dim -1", [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {5, 3})}; },
                   [](const std::vector<Tensor>& x) { return softmax(x[0].transpose(0, 1), -1); }});
}

}  // namespace loglin

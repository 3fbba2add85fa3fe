// Gradcheck cases for sum, mean and max.
#include "ops/gradcheck_cases.h"
#include "ops/reduce/reduce.h"

namespace loglin {

void add_reduce_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  Shape s{2, 3, 4};
  auto in = [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; };
  std::string label = gc_label({{"x", s}});
  cases.push_back({"sum", label + " all", in, [](const std::vector<Tensor>& x) { return sum(x[0]); }});
  cases.push_back({"sum", label + " dims{0,2}", in, [](const std::vector<Tensor>& x) { return sum(x[0], {0, 2}); }});
  cases.push_back({"sum", label + " dim -1 keepdim", in,
                   [](const std::vector<Tensor>& x) { return sum(x[0], {-1}, true); }});
  cases.push_back({"mean", label + " all", in, [](const std::vector<Tensor>& x) { return mean(x[0]); }});
  cases.push_back({"mean", label + " dim 1 keepdim", in,
                   [](const std::vector<Tensor>& x) { return mean(x[0], {1}, true); }});
  // Random normals have distinct values, so the max is unique and differentiable.
  cases.push_back({"max", label + " dim 1", in, [](const std::vector<Tensor>& x) { return max(x[0], 1); }});
  cases.push_back({"max", label + " dim -1 keepdim", in,
                   [](const std::vector<Tensor>& x) { return max(x[0], -1, true); }});
}

}  // namespace loglin

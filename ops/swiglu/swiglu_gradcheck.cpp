// Gradcheck cases for swiglu: a plain pair, and a pair of strided views.
#include "ops/gradcheck_cases.h"
#include "ops/swiglu/swiglu.h"

namespace loglin {

void add_swiglu_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  cases.push_back({"swiglu", gc_label({{"a", {3, 7}}, {"b", {3, 7}}}),
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {3, 7}), gc_randn(g, {3, 7})}; },
                   [](const std::vector<Tensor>& x) { return swiglu(x[0], x[1]); }});
  cases.push_back({"swiglu", gc_label({{"a", {5, 4}}, {"b", {4, 5}}}) + " a narrowed, b transposed",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {5, 4}), gc_randn(g, {4, 5})}; },
                   [](const std::vector<Tensor>& x) { return swiglu(x[0].narrow(1, 1, 3), x[1].transpose(0, 1).narrow(1, 0, 3)); }});
}

}  // namespace loglin

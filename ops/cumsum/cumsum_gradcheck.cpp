// Gradcheck cases for cumsum, forward and reverse, on each dim of a 3-D input.
#include "ops/cumsum/cumsum.h"
#include "ops/gradcheck_cases.h"

namespace loglin {

void add_cumsum_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  for (Shape s : {Shape{3, 4, 5}, Shape{7}}) {
    for (int64_t dim : {0, 1, -1}) {
      if (dim == 1 && s.size() < 2) continue;
      for (bool reverse : {false, true}) {
        cases.push_back({"cumsum",
                         gc_label({{"x", s}}) + " dim " + std::to_string(dim) + (reverse ? " reverse" : ""),
                         [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; },
                         [dim, reverse](const std::vector<Tensor>& x) { return cumsum(x[0], dim, reverse); }});
      }
    }
  }
}

}  // namespace loglin

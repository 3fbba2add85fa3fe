// Gradcheck cases for dropout. Each call draws its mask from a fresh
// Generator(42), so every finite-difference evaluation sees the same mask.
#include "ops/dropout/dropout.h"
#include "ops/gradcheck_cases.h"

namespace loglin {

void add_dropout_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  for (auto [s, p] : {std::pair<Shape, double>{{4, 5}, 0.3}, {{2, 3, 4}, 0.5}}) {
    cases.push_back({"dropout", gc_label({{"x", s}}) + " p " + fmt::format("{}", p),
                     [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; },
                     [p](const std::vector<Tensor>& x) {
                       Generator gen(42);
                       return dropout(x[0], p, /*training=*/true, gen);
                     }});
  }
}

}  // namespace loglin

// Gradcheck cases for where and masked_fill. The condition is an input with
// requires_grad off, so it is held fixed while a and b are nudged.
#include "ops/gradcheck_cases.h"
#include "ops/where/where.h"

namespace loglin {
namespace {

Tensor random_mask(Generator& g, const Shape& s, DType dtype) { return randint(0, 2, s, DType::i64, g).to(dtype); }

}  // namespace

void add_where_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  struct Shapes {
    Shape c, a, b;
    DType cdtype;
  };
  // Same shapes; then broadcasts where each of the three sets a dim.
  const std::vector<Shapes> where_shapes = {{{3, 4}, {3, 4}, {3, 4}, DType::i64},
                                            {{3, 1}, {1, 4}, {}, DType::i32},
                                            {{2, 1, 4}, {2, 3, 4}, {3, 1}, DType::f64}};
  for (const auto& s : where_shapes) {
    cases.push_back({"where", gc_label({{"cond", s.c}, {"a", s.a}, {"b", s.b}}) + " cond " + dtype_name(s.cdtype),
                     [s](Generator& g) {
                       Tensor c = random_mask(g, s.c, s.cdtype);
                       return std::vector<Tensor>{c, gc_randn(g, s.a), gc_randn(g, s.b)};
                     },
                     [](const std::vector<Tensor>& x) { return where(x[0], x[1], x[2]); }});
  }
  const std::vector<std::pair<Shape, Shape>> fill_shapes = {{{3, 4}, {3, 4}}, {{2, 3, 4}, {1, 4}}, {{2, 3, 4}, {3, 1}}};
  for (const auto& [sx, sm] : fill_shapes) {
    cases.push_back({"masked_fill", gc_label({{"x", sx}, {"mask", sm}}) + " value -1.5",
                     [sx, sm](Generator& g) {
                       Tensor x = gc_randn(g, sx);
                       return std::vector<Tensor>{x, random_mask(g, sm, DType::i64)};
                     },
                     [](const std::vector<Tensor>& x) { return masked_fill(x[0], x[1], -1.5); }});
  }
}

}  // namespace loglin

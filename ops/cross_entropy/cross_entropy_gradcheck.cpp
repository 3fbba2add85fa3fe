// Gradcheck cases for the fused cross_entropy: 2-D and 3-D logits, i64 and
// i32 targets, and targets equal to ignore_index (their rows get no gradient
// and do not count in the mean).
#include "ops/cross_entropy/cross_entropy.h"
#include "ops/gradcheck_cases.h"

namespace loglin {
namespace {

// Targets in [0, C) with the rows listed in `ignored` set to ignore_index.
Tensor make_targets(Generator& g, const Shape& shape, int64_t C, const std::vector<int64_t>& ignored,
                    int64_t ignore_index, DType dtype) {
  Tensor t = randint(0, C, shape, DType::i64, g);
  int64_t* p = t.data<int64_t>();
  for (int64_t r : ignored) p[r] = ignore_index;
  return dtype == DType::i64 ? t : t.to(dtype);
}

}  // namespace

void add_cross_entropy_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  struct Config {
    Shape logits;
    std::vector<int64_t> ignored;  // flat row indices
    int64_t ignore_index;
    DType target_dtype;
    std::string note;
  };
  const std::vector<Config> configs = {
      {{4, 5}, {}, -100, DType::i64, ""},
      {{6, 4}, {1, 4}, -100, DType::i64, " rows 1,4 ignored"},
      {{2, 3, 5}, {2}, -100, DType::i64, " 3-D, row 2 ignored"},
      {{5, 3}, {0}, 2, DType::i32, " i32 targets, ignore_index 2"},
  };
  for (const auto& c : configs) {
    Shape ts(c.logits.begin(), c.logits.end() - 1);
    cases.push_back({"cross_entropy", gc_label({{"logits", c.logits}, {"targets", ts}}) + c.note,
                     [c, ts](Generator& g) {
                       Tensor logits = gc_randn(g, c.logits);
                       return std::vector<Tensor>{
                           logits, make_targets(g, ts, c.logits.back(), c.ignored, c.ignore_index, c.target_dtype)};
                     },
                     [c](const std::vector<Tensor>& x) { return cross_entropy(x[0], x[1], c.ignore_index); }});
  }
}

}  // namespace loglin

// Gradcheck cases for the view ops (reshape, permute, slice, ...). The output
// is multiplied by a fixed tensor so that every element's gradient differs.
#include "ops/elementwise/binary.h"
#include "ops/gradcheck_cases.h"
#include "ops/shape/cat.h"

namespace loglin {

void add_shape_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  Shape s{2, 3, 4};
  auto in = [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; };
  std::string label = gc_label({{"x", s}});
  auto add = [&](const std::string& op, const std::string& what, std::function<Tensor(const Tensor&)> f) {
    cases.push_back({op, label + " " + what, in, [f](const std::vector<Tensor>& x) { return f(x[0]); }});
  };
  add("reshape", "to [4,6]", [](const Tensor& x) { return x.reshape({4, -1}); });
  add("reshape", "of a transpose", [](const Tensor& x) { return x.transpose(0, 2).reshape({-1}); });
  add("permute", "{2,0,1}", [](const Tensor& x) { return x.permute({2, 0, 1}); });
  add("transpose", "(1,2)", [](const Tensor& x) { return x.transpose(1, 2); });
  add("slice", "dim 2 [1,4) step 2", [](const Tensor& x) { return x.slice(2, 1, 4, 2); });
  add("narrow", "dim 1 [1,3)", [](const Tensor& x) { return x.narrow(1, 1, 2); });
  add("select", "dim 0 index 1", [](const Tensor& x) { return x.select(0, 1); });
  add("unsqueeze", "dim 1", [](const Tensor& x) { return x.unsqueeze(1); });
  add("expand", "[2,3,4] -> [5,2,3,4] via unsqueeze", [](const Tensor& x) { return x.unsqueeze(0).expand({5, 2, 3, 4}); });
  add("contiguous", "of a permute", [](const Tensor& x) { return x.permute({1, 0, 2}).contiguous(); });
  add("clone", "", [](const Tensor& x) { return x.clone(); });
  cases.push_back({"cat", "a[2,3] b[2,5] dim 1",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {2, 3}), gc_randn(g, {2, 5})}; },
                   [](const std::vector<Tensor>& x) { return cat({x[0], x[1]}, 1); }});
  cases.push_back({"stack", "a[2,3] b[2,3] dim 0",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {2, 3}), gc_randn(g, {2, 3})}; },
                   [](const std::vector<Tensor>& x) { return stack({x[0], x[1]}, 0); }});
  // The middle piece unused: its gradient is the zeros split fills in.
  cases.push_back({"split", "x[2,7,3] dim 1 into 2+1+4",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {2, 7, 3})}; },
                   [](const std::vector<Tensor>& x) {
                     auto p = split(x[0], 1, {2, 1, 4});
                     return cat({mul(p[2], p[2]), mul(p[0], 3.0)}, 1);
                   }});
  // One slice unused: its gradient is the zeros unbind fills in.
  cases.push_back({"unbind", "x[2,3,4] dim 1",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {2, 3, 4})}; },
                   [](const std::vector<Tensor>& x) {
                     auto p = unbind(x[0], 1);
                     return cat({mul(p[2], p[2]), mul(p[0], 3.0)}, 0);
                   }});
}

}  // namespace loglin

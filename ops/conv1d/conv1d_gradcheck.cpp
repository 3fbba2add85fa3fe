// Gradcheck cases for causal_conv1d: a typical short conv (W = 4), a single
// tap (W = 1), no bias, and a sequence shorter than the kernel (T < W).
#include "ops/conv1d/causal_conv1d.h"
#include "ops/gradcheck_cases.h"

namespace loglin {

void add_conv1d_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  struct Case {
    int64_t B, T, C, W;
    bool bias;
  };
  for (Case k : {Case{2, 6, 3, 4, true}, Case{2, 5, 3, 1, true}, Case{2, 6, 3, 4, false}, Case{2, 2, 3, 4, true},
                 Case{1, 3, 2, 4, false}}) {
    Shape sx{k.B, k.T, k.C}, sw{k.C, k.W}, sb{k.C};
    std::string label =
        k.bias ? gc_label({{"x", sx}, {"w", sw}, {"b", sb}}) : gc_label({{"x", sx}, {"w", sw}}) + " no bias";
    cases.push_back({"causal_conv1d", label,
                     [sx, sw, sb, k](Generator& g) {
                       std::vector<Tensor> in{gc_randn(g, sx), gc_randn(g, sw)};
                       if (k.bias) in.push_back(gc_randn(g, sb));
                       return in;
                     },
                     [](const std::vector<Tensor>& x) {
                       return causal_conv1d(x[0], x[1], x.size() > 2 ? x[2] : Tensor());
                     }});
  }
}

}  // namespace loglin

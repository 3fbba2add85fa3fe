// Gradcheck cases for rms_norm and layer_norm, with and without their
// optional weight and bias.
#include "ops/gradcheck_cases.h"
#include "ops/norm/layer_norm.h"
#include "ops/norm/rms_norm.h"

namespace loglin {

void add_norm_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  const Shape s{3, 2, 6}, p{6};
  cases.push_back({"rms_norm", gc_label({{"x", s}, {"weight", p}}),
                   [s, p](Generator& g) { return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, p)}; },
                   [](const std::vector<Tensor>& x) { return rms_norm(x[0], x[1]); }});
  cases.push_back({"rms_norm", gc_label({{"x", s}}) + " no weight",
                   [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; },
                   [](const std::vector<Tensor>& x) { return rms_norm(x[0], Tensor()); }});
  // A large eps makes the eps term matter in the gradient.
  cases.push_back({"rms_norm", gc_label({{"x", {4, 5}}, {"weight", {5}}}) + " eps 0.5",
                   [](Generator& g) { return std::vector<Tensor>{gc_randn(g, {4, 5}), gc_randn(g, {5})}; },
                   [](const std::vector<Tensor>& x) { return rms_norm(x[0], x[1], 0.5); }});

  cases.push_back({"layer_norm", gc_label({{"x", s}, {"weight", p}, {"bias", p}}),
                   [s, p](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, p), gc_randn(g, p)};
                   },
                   [](const std::vector<Tensor>& x) { return layer_norm(x[0], x[1], x[2]); }});
  cases.push_back({"layer_norm", gc_label({{"x", s}}) + " no weight, no bias",
                   [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s)}; },
                   [](const std::vector<Tensor>& x) { return layer_norm(x[0], Tensor(), Tensor()); }});
  cases.push_back({"layer_norm", gc_label({{"x", s}, {"weight", p}}) + " no bias",
                   [s, p](Generator& g) { return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, p)}; },
                   [](const std::vector<Tensor>& x) { return layer_norm(x[0], x[1], Tensor()); }});
  cases.push_back({"layer_norm", gc_label({{"x", s}, {"bias", p}}) + " no weight",
                   [s, p](Generator& g) { return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, p)}; },
                   [](const std::vector<Tensor>& x) { return layer_norm(x[0], Tensor(), x[1]); }});
  cases.push_back({"layer_norm", gc_label({{"x", {4, 5}}, {"weight", {5}}, {"bias", {5}}}) + " eps 0.5",
                   [](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, {4, 5}), gc_randn(g, {5}), gc_randn(g, {5})};
                   },
                   [](const std::vector<Tensor>& x) { return layer_norm(x[0], x[1], x[2], 0.5); }});
}

}  // namespace loglin

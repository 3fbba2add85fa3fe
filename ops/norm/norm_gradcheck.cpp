// Gradcheck cases for rms_norm, rms_norm_gated and layer_norm, with and
// without their optional weight and bias.
#include "ops/gradcheck_cases.h"
#include "ops/norm/layer_norm.h"
#include "ops/norm/rms_norm.h"
#include "ops/norm/rms_norm_gated.h"

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

  cases.push_back({"rms_norm_gated", gc_label({{"x", s}, {"z", s}, {"weight", p}}),
                   [s, p](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, s), gc_randn(g, p)};
                   },
                   [](const std::vector<Tensor>& x) { return rms_norm_gated(x[0], x[1], x[2]); }});
  cases.push_back({"rms_norm_gated", gc_label({{"x", s}, {"z", s}}) + " no weight",
                   [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, s)}; },
                   [](const std::vector<Tensor>& x) { return rms_norm_gated(x[0], x[1], Tensor()); }});
  cases.push_back({"rms_norm_gated", gc_label({{"x", {4, 5}}, {"z", {4, 5}}, {"weight", {5}}}) + " eps 0.5",
                   [](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, {4, 5}), gc_randn(g, {4, 5}), gc_randn(g, {5})};
                   },
                   [](const std::vector<Tensor>& x) { return rms_norm_gated(x[0], x[1], x[2], 0.5); }});
  // z as Mamba-2 has it: a slice of the last dim of a wider tensor, read in
  // place with a row stride of 10.
  cases.push_back({"rms_norm_gated", gc_label({{"x", s}, {"zw", {3, 2, 10}}, {"weight", p}}) + " z = zw[..., 2:8]",
                   [s, p](Generator& g) {
                     return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, {3, 2, 10}), gc_randn(g, p)};
                   },
                   [](const std::vector<Tensor>& x) { return rms_norm_gated(x[0], x[1].narrow(-1, 2, 6), x[2]); }});
  // Rows that no single stride reaches (a slice of a middle dim): z is copied.
  cases.push_back({"rms_norm_gated", gc_label({{"x", s}, {"zw", {3, 4, 6}}}) + " z = zw[:, 1:3]",
                   [s](Generator& g) { return std::vector<Tensor>{gc_randn(g, s), gc_randn(g, {3, 4, 6})}; },
                   [](const std::vector<Tensor>& x) { return rms_norm_gated(x[0], x[1].narrow(1, 1, 2), Tensor()); }});

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

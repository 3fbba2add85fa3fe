// Gradcheck cases for the gated delta rule and its log-linear form: the
// hand-written chunked backward (cpu/chunk_backward_cpu.cpp) against float64
// finite differences. Small T with chunk 4, so several chunks and chunk
// levels are crossed, partial chunks at both ends; G < H; varlen; an initial
// state off the chunk grid (gradient into its levels) and the final state as
// a second output. k in (-0.6, 0.6) and beta in (0.1, 0.9) keep the
// transitions I - beta k k^T contractive, as the layer's normalised k does.
#include "ops/gated_delta_rule/gated_delta_rule.h"
#include "ops/gradcheck_cases.h"
#include "ops/shape/cat.h"

namespace loglin {
namespace {

struct Sizes {
  int64_t B, T, G, H, K, V, L;  // L = 0: the plain form
};

// q, k, v, g, beta (and level_scales) in f64, all checked.
std::vector<Tensor> gdr_inputs(Generator& gen, const Sizes& s) {
  std::vector<Tensor> x{gc_randn(gen, {s.B, s.T, s.G, s.K}), gc_uniform(gen, {s.B, s.T, s.G, s.K}, -0.6, 0.6),
                        gc_randn(gen, {s.B, s.T, s.H, s.V}), gc_uniform(gen, {s.B, s.T, s.H}, -0.5, 0.0),
                        gc_uniform(gen, {s.B, s.T, s.H}, 0.1, 0.9)};
  if (s.L > 0) x.push_back(gc_uniform(gen, {s.B, s.T, s.H, s.L}, 0.5, 1.5));
  return x;
}

std::string gdr_label(const Sizes& s, const std::string& extra) {
  std::vector<std::pair<std::string, Shape>> shapes{{"q", {s.B, s.T, s.G, s.K}}, {"v", {s.B, s.T, s.H, s.V}}};
  if (s.L > 0) shapes.push_back({"ls", {s.B, s.T, s.H, s.L}});
  return gc_label(shapes) + " chunk 4" + extra;
}

Tensor cu_tensor(const std::vector<int64_t>& cu) {
  return Tensor::from_vector(cu, {static_cast<int64_t>(cu.size())});
}

// Either form on inputs x (level_scales at x[5] when log-linear).
GatedDeltaRuleOutput call(const std::vector<Tensor>& x, bool log_linear, const GatedDeltaRuleOptions& o) {
  if (log_linear) return log_linear_gated_delta_rule_with_state(x[0], x[1], x[2], x[3], x[4], x[5], o);
  return gated_delta_rule_with_state(x[0], x[1], x[2], x[3], x[4], o);
}

// o and the final state's levels, flattened into one output.
Tensor with_final(const GatedDeltaRuleOutput& out) {
  return cat({out.o.reshape({-1}), out.final_state.levels.reshape({-1})}, 0);
}

void add_cases(std::vector<GradcheckCase>& cases, const char* op, bool ll) {
  const int64_t L = ll ? 6 : 0;
  {
    const Sizes s{2, 13, 2, 2, 3, 2, L};
    cases.push_back({op, gdr_label(s, ""), [s](Generator& g) { return gdr_inputs(g, s); },
                     [ll](const std::vector<Tensor>& x) {
                       return call(x, ll, GatedDeltaRuleOptions().chunk_size(4)).o;
                     }});
  }
  {
    const Sizes s{1, 11, 1, 3, 2, 3, L};  // G < H, K != V
    cases.push_back({op, gdr_label(s, " G<H"), [s](Generator& g) { return gdr_inputs(g, s); },
                     [ll](const std::vector<Tensor>& x) {
                       return call(x, ll, GatedDeltaRuleOptions().chunk_size(4)).o;
                     }});
  }
  {
    const Sizes s{1, 14, 1, 2, 2, 2, L};
    cases.push_back({op, gdr_label(s, " varlen cu=[0,1,6,14]"), [s](Generator& g) { return gdr_inputs(g, s); },
                     [ll](const std::vector<Tensor>& x) {
                       return call(x, ll, GatedDeltaRuleOptions().chunk_size(4).cu_seqlens(cu_tensor({0, 1, 6, 14})))
                           .o;
                     }});
  }
  {
    // Initial state at positions 5 and 13 (off the chunk grid), final state out.
    const Sizes s{2, 7, 1, 2, 2, 2, L};
    const int64_t Ls = ll ? L : 1;
    cases.push_back({op, gdr_label(s, " initial state pos {5,13} + final state"),
                     [s, Ls](Generator& g) {
                       auto x = gdr_inputs(g, s);
                       x.push_back(gc_randn(g, {s.B, s.H, Ls, s.K, s.V}));
                       return x;
                     },
                     [ll](const std::vector<Tensor>& x) {
                       const Tensor& st = x[ll ? 6 : 5];
                       return with_final(call(x, ll,
                                              GatedDeltaRuleOptions()
                                                  .chunk_size(4)
                                                  .initial_state({st, {5, 13}})
                                                  .return_final_state()));
                     }});
  }
}

}  // namespace

void add_gated_delta_rule_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  add_cases(cases, "gated_delta_rule", false);
  add_cases(cases, "log_linear_gated_delta_rule", true);
}

}  // namespace loglin

// Gradcheck cases for log_linear_attention: the hand-written chunked backward
// against float64 finite differences. Small T with chunk 4 so that several
// chunk levels of the range tree are exercised; G < H; varlen; an initial
// state (gradient into its levels) and the final state as a second output.
#include "ops/gradcheck_cases.h"
#include "ops/log_linear_attention/log_linear_attention.h"
#include "ops/shape/cat.h"

namespace loglin {
namespace {

struct Sizes {
  int64_t B, T, G, H, K, V, L;
};

// q, k, v, g, level_scales in f64, all checked. g in (-0.5, 0): decays that
// matter at these lengths; level scales in (0.5, 1.5).
std::vector<Tensor> lla_inputs(Generator& gen, const Sizes& s) {
  return {gc_randn(gen, {s.B, s.T, s.G, s.K}), gc_randn(gen, {s.B, s.T, s.G, s.K}),
          gc_randn(gen, {s.B, s.T, s.H, s.V}), gc_uniform(gen, {s.B, s.T, s.H}, -0.5, 0.0),
          gc_uniform(gen, {s.B, s.T, s.H, s.L}, 0.5, 1.5)};
}

std::string lla_label(const Sizes& s, const std::string& extra) {
  return gc_label({{"q", {s.B, s.T, s.G, s.K}}, {"v", {s.B, s.T, s.H, s.V}}, {"ls", {s.B, s.T, s.H, s.L}}}) +
         " chunk 4" + extra;
}

Tensor cu_tensor(const std::vector<int64_t>& cu) {
  return Tensor::from_vector(cu, {static_cast<int64_t>(cu.size())});
}

// o and the final state's levels, flattened into one output.
Tensor with_final(const LogLinearAttentionOutput& out) {
  return cat({out.o.reshape({-1}), out.final_state.levels.reshape({-1})}, 0);
}

}  // namespace

void add_log_linear_attention_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  const char* op = "log_linear_attention";
  {
    const Sizes s{2, 13, 1, 2, 3, 2, 5};
    cases.push_back({op, lla_label(s, ""), [s](Generator& g) { return lla_inputs(g, s); },
                     [](const std::vector<Tensor>& x) {
                       return log_linear_attention(x[0], x[1], x[2], x[3], x[4],
                                                   LogLinearAttentionOptions().chunk_size(4));
                     }});
  }
  {
    const Sizes s{1, 18, 2, 4, 2, 3, 7};  // G < H, L one more than needed
    cases.push_back({op, lla_label(s, " G<H"), [s](Generator& g) { return lla_inputs(g, s); },
                     [](const std::vector<Tensor>& x) {
                       return log_linear_attention(x[0], x[1], x[2], x[3], x[4],
                                                   LogLinearAttentionOptions().chunk_size(4));
                     }});
  }
  {
    const Sizes s{1, 20, 1, 2, 2, 3, 5};
    cases.push_back({op, lla_label(s, " varlen cu=[0,3,11,20]"), [s](Generator& g) { return lla_inputs(g, s); },
                     [](const std::vector<Tensor>& x) {
                       return log_linear_attention(
                           x[0], x[1], x[2], x[3], x[4],
                           LogLinearAttentionOptions().chunk_size(4).cu_seqlens(cu_tensor({0, 3, 11, 20})));
                     }});
  }
  {
    // Initial state at positions 5 and 13 (not chunk-aligned), final state out.
    const Sizes s{2, 9, 1, 2, 2, 2, 6};
    cases.push_back({op, lla_label(s, " initial state pos {5,13} + final state"),
                     [s](Generator& g) {
                       auto x = lla_inputs(g, s);
                       x.push_back(gc_randn(g, {s.B, s.H, s.L, s.K, s.V}));
                       return x;
                     },
                     [](const std::vector<Tensor>& x) {
                       return with_final(log_linear_attention_with_state(x[0], x[1], x[2], x[3], x[4],
                                                                         LogLinearAttentionOptions()
                                                                             .chunk_size(4)
                                                                             .initial_state({x[5], {5, 13}})
                                                                             .return_final_state()));
                     }});
  }
  {
    // Varlen with an initial state per sequence (one at position 8, chunk-aligned).
    const Sizes s{1, 14, 1, 2, 2, 2, 6};
    cases.push_back({op, lla_label(s, " varlen cu=[0,6,14] + initial state pos {8,3} + final state"),
                     [s](Generator& g) {
                       auto x = lla_inputs(g, s);
                       x.push_back(gc_randn(g, {2, s.H, s.L, s.K, s.V}));
                       return x;
                     },
                     [](const std::vector<Tensor>& x) {
                       return with_final(log_linear_attention_with_state(x[0], x[1], x[2], x[3], x[4],
                                                                         LogLinearAttentionOptions()
                                                                             .chunk_size(4)
                                                                             .cu_seqlens(cu_tensor({0, 6, 14}))
                                                                             .initial_state({x[5], {8, 3}})
                                                                             .return_final_state()));
                     }});
  }
}

}  // namespace loglin

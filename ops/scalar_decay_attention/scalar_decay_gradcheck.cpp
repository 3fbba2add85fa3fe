// Gradcheck cases for scalar_decay_attention: the hand-written chunked
// backward against float64 finite differences. Chunk 4 with T a few chunks
// long (and not a multiple of 4) so the state scan and its reverse run over
// several chunks; G < H; varlen.
#include "ops/gradcheck_cases.h"
#include "ops/scalar_decay_attention/scalar_decay_attention.h"

namespace loglin {
namespace {

struct Sizes {
  int64_t B, T, G, H, K, V;
};

// q, k, v, g in f64, all checked; g in (-0.5, 0): decays that matter here.
std::vector<Tensor> sda_inputs(Generator& gen, const Sizes& s) {
  return {gc_randn(gen, {s.B, s.T, s.G, s.K}), gc_randn(gen, {s.B, s.T, s.G, s.K}),
          gc_randn(gen, {s.B, s.T, s.H, s.V}), gc_uniform(gen, {s.B, s.T, s.H}, -0.5, 0.0)};
}

std::string sda_label(const Sizes& s, const std::string& extra) {
  return gc_label({{"q", {s.B, s.T, s.G, s.K}}, {"v", {s.B, s.T, s.H, s.V}}}) + " chunk 4" + extra;
}

}  // namespace

void add_scalar_decay_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  const char* op = "scalar_decay_attention";
  {
    const Sizes s{2, 13, 1, 2, 3, 2};
    cases.push_back({op, sda_label(s, ""), [s](Generator& g) { return sda_inputs(g, s); },
                     [](const std::vector<Tensor>& x) {
                       return scalar_decay_attention(x[0], x[1], x[2], x[3], ScalarDecayOptions().chunk_size(4));
                     }});
  }
  {
    const Sizes s{1, 18, 2, 4, 2, 3};  // G < H
    cases.push_back({op, sda_label(s, " G<H"), [s](Generator& g) { return sda_inputs(g, s); },
                     [](const std::vector<Tensor>& x) {
                       return scalar_decay_attention(x[0], x[1], x[2], x[3], ScalarDecayOptions().chunk_size(4));
                     }});
  }
  {
    const Sizes s{1, 20, 1, 2, 2, 3};
    cases.push_back({op, sda_label(s, " varlen cu=[0,3,11,20]"), [s](Generator& g) { return sda_inputs(g, s); },
                     [](const std::vector<Tensor>& x) {
                       const std::vector<int64_t> cu{0, 3, 11, 20};
                       return scalar_decay_attention(
                           x[0], x[1], x[2], x[3],
                           ScalarDecayOptions().chunk_size(4).cu_seqlens(Tensor::from_vector(cu, {4})));
                     }});
  }
}

}  // namespace loglin

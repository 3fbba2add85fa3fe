// Gated DeltaNet's op from C++: the log-linear gated delta rule forward and
// backward, a prefill that returns the level states, then decoding token by
// token from them, checked against the one long forward.
//
// Build: cmake --build build --target example_gated_delta_rule
// Run:   build/examples/example_gated_delta_rule
#include <loglin/loglin.h>

#include <cmath>
#include <iostream>

using namespace loglin;

int main() {
  manual_seed(0);
  const int64_t B = 2, T = 100, H = 4, K = 16, V = 32, L = 8;  // L >= bit_length(T - 1) + 1
  // q, k [B, T, H, K] (k with unit rows, as the layer makes them); v [B, T, H, V];
  // g [B, T, H] log decays <= 0; beta [B, T, H] in (0, 1); level_scales [B, T, H, L].
  Tensor q = (randn({B, T, H, K}) / std::sqrt(double(K))).set_requires_grad(true);
  Tensor k0 = randn({B, T, H, K});
  Tensor k = (k0 / sqrt(sum(k0 * k0, {-1}, /*keepdim=*/true))).detach().set_requires_grad(true);
  Tensor v = randn({B, T, H, V}).set_requires_grad(true);
  Tensor g = rand({B, T, H}, -0.2, 0.0);
  Tensor beta = rand({B, T, H}, 0.1, 0.9).set_requires_grad(true);
  Tensor scales = rand({B, T, H, L}, 0.5, 1.5).set_requires_grad(true);

  Tensor o = log_linear_gated_delta_rule(q, k, v, g, beta, scales);
  sum(o * o).backward();  // gradients for q, k, v, beta and the level scales
  std::cout << "o " << shape_str(o.shape()) << ", |dq| = " << sqrt(sum(q.grad() * q.grad())).item() << "\n";
  std::cout << "plan: " << plan_gated_delta_rule(q, k, v, g, beta, scales).str() << "\n";

  // Prefill the first 60 tokens, then decode the other 40 one by one.
  NoGradGuard no_grad;
  const int64_t P = 60;
  auto first = [&](const Tensor& x) { return x.narrow(1, 0, P); };
  GatedDeltaRuleOutput pre = log_linear_gated_delta_rule_with_state(
      first(q), first(k), first(v), first(g), first(beta), first(scales),
      GatedDeltaRuleOptions().return_final_state());
  GatedDeltaState state = pre.final_state;  // levels [B, H, L, K, V], positions {60, 60}
  double worst = 0;
  for (int64_t t = P; t < T; ++t) {
    auto at = [&](const Tensor& x) { return squeeze(x.narrow(1, t, 1), 1); };
    Tensor o_t = gated_delta_rule_step(state, at(q), at(k), at(v), at(g), at(beta), at(scales));
    Tensor d = o_t - at(o);
    worst = std::max(worst, std::sqrt(sum(d * d).item() / sum(at(o) * at(o)).item()));
  }
  std::cout << "decoding vs the forward: worst relative error " << worst << "\n";
  return worst < 1e-4 ? 0 : 1;
}

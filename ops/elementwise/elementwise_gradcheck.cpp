// Gradcheck cases for add/sub/mul/div (with broadcasting) and the unary ops.
#include "ops/elementwise/binary.h"
#include "ops/elementwise/unary.h"
#include "ops/gradcheck_cases.h"

namespace loglin {
namespace {

void add_binary(std::vector<GradcheckCase>& cases, const std::string& op, Tensor (*f)(const Tensor&, const Tensor&),
                bool positive_rhs) {
  // Same shapes, then a broadcast on each side (a row, a column, a scalar).
  const std::vector<std::pair<Shape, Shape>> shapes = {{{3, 4}, {3, 4}}, {{2, 3, 4}, {4}}, {{3, 1}, {1, 5}}, {{}, {2, 3}}};
  for (const auto& [sa, sb] : shapes) {
    cases.push_back({op, gc_label({{"a", sa}, {"b", sb}}),
                     [sa, sb, positive_rhs](Generator& g) {
                       return std::vector<Tensor>{gc_randn(g, sa), positive_rhs ? gc_uniform(g, sb, 0.5, 2.0)
                                                                                : gc_randn(g, sb)};
                     },
                     [f](const std::vector<Tensor>& x) { return f(x[0], x[1]); }});
  }
}

// mul's Mamba-2 broadcasts, x [B,T,H,P] times dt [B,T,H,1] and D [H,1]:
// the scale's gradient takes sum_to_shape_of_product's fused path (a trailing
// row sum, then for D the leading dims too).
void add_mul_broadcast(std::vector<GradcheckCase>& cases) {
  const std::vector<std::pair<Shape, Shape>> shapes = {{{2, 3, 4, 5}, {2, 3, 4, 1}}, {{2, 3, 4, 5}, {4, 1}},
                                                       {{4, 1}, {2, 3, 4, 5}}};
  for (const auto& [sa, sb] : shapes) {
    cases.push_back({"mul", gc_label({{"a", sa}, {"b", sb}}),
                     [sa, sb](Generator& g) { return std::vector<Tensor>{gc_randn(g, sa), gc_randn(g, sb)}; },
                     [](const std::vector<Tensor>& x) { return mul(x[0], x[1]); }});
  }
}

void add_unary(std::vector<GradcheckCase>& cases, const std::string& op, std::function<Tensor(const Tensor&)> f,
               double lo, double hi) {
  Shape s{3, 5};
  cases.push_back({op, gc_label({{"x", s}}), [s, lo, hi](Generator& g) { return std::vector<Tensor>{gc_uniform(g, s, lo, hi)}; },
                   [f](const std::vector<Tensor>& x) { return f(x[0]); }});
}

}  // namespace

void add_elementwise_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  add_binary(cases, "add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, false);
  add_binary(cases, "sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, false);
  add_binary(cases, "mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, false);
  add_mul_broadcast(cases);
  add_binary(cases, "div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, true);
  add_unary(cases, "add_scalar", [](const Tensor& x) { return add(x, 2.5); }, -2, 2);
  add_unary(cases, "mul_scalar", [](const Tensor& x) { return mul(x, -1.5); }, -2, 2);
  add_unary(cases, "neg", [](const Tensor& x) { return neg(x); }, -2, 2);
  add_unary(cases, "exp", [](const Tensor& x) { return exp(x); }, -2, 2);
  add_unary(cases, "log", [](const Tensor& x) { return log(x); }, 0.3, 3);
  add_unary(cases, "sqrt", [](const Tensor& x) { return sqrt(x); }, 0.3, 3);
  add_unary(cases, "pow", [](const Tensor& x) { return pow(x, 2.5); }, 0.3, 3);
  add_unary(cases, "tanh", [](const Tensor& x) { return tanh(x); }, -2, 2);
  add_unary(cases, "sigmoid", [](const Tensor& x) { return sigmoid(x); }, -4, 4);
  // relu's kink at 0 breaks finite differences there; draw away from it.
  add_unary(cases, "relu", [](const Tensor& x) { return relu(add(x, 0.0)); }, 0.1, 2);
  add_unary(cases, "relu", [](const Tensor& x) { return relu(x); }, -2, -0.1);
  add_unary(cases, "silu", [](const Tensor& x) { return silu(x); }, -4, 4);
  add_unary(cases, "gelu", [](const Tensor& x) { return gelu(x); }, -4, 4);
  add_unary(cases, "softplus", [](const Tensor& x) { return softplus(x); }, -6, 6);
}

}  // namespace loglin

#include "ops/gradcheck_cases.h"

#include <algorithm>

namespace loglin {

const std::vector<GradcheckCase>& gradcheck_cases() {
  static const std::vector<GradcheckCase> cases = [] {
    std::vector<GradcheckCase> c;
    add_elementwise_gradcheck_cases(c);
    add_reduce_gradcheck_cases(c);
    add_shape_gradcheck_cases(c);
    add_matmul_gradcheck_cases(c);
    add_where_gradcheck_cases(c);
    add_cumsum_gradcheck_cases(c);
    add_embedding_gradcheck_cases(c);
    add_softmax_gradcheck_cases(c);
    add_cross_entropy_gradcheck_cases(c);
    add_norm_gradcheck_cases(c);
    add_conv1d_gradcheck_cases(c);
    add_dropout_gradcheck_cases(c);
    add_log_linear_attention_gradcheck_cases(c);
    add_scalar_decay_gradcheck_cases(c);
    add_gated_delta_rule_gradcheck_cases(c);
    add_rotary_gradcheck_cases(c);
    add_attention_gradcheck_cases(c);
    add_swiglu_gradcheck_cases(c);
    return c;
  }();
  return cases;
}

std::vector<std::string> gradcheck_op_names() {
  std::vector<std::string> names;
  for (const auto& c : gradcheck_cases())
    if (std::find(names.begin(), names.end(), c.op) == names.end()) names.push_back(c.op);
  return names;
}

std::vector<GradcheckRow> run_gradcheck(const std::string& op, uint64_t seed) {
  if (!op.empty()) {
    auto names = gradcheck_op_names();
    if (std::find(names.begin(), names.end(), op) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      LOGLIN_FAIL("[gradcheck] no op named '{}' is registered; known ops: {}", op, known);
    }
  }
  std::vector<GradcheckRow> rows;
  for (const auto& c : gradcheck_cases()) {
    if (!op.empty() && c.op != op) continue;
    Generator gen(seed);
    rows.push_back({&c, gradcheck(c.fn, c.make_inputs(gen), c.options)});
  }
  return rows;
}

Tensor gc_randn(Generator& gen, const Shape& shape, bool requires_grad) {
  Tensor t = randn(shape, DType::f64, gen);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

Tensor gc_uniform(Generator& gen, const Shape& shape, double lo, double hi, bool requires_grad) {
  Tensor t = rand(shape, lo, hi, DType::f64, gen);
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

std::string gc_label(const std::vector<std::pair<std::string, Shape>>& parts) {
  std::string out;
  for (const auto& [name, shape] : parts) {
    if (!out.empty()) out += " ";
    out += name + shape_str(shape);
  }
  return out;
}

}  // namespace loglin

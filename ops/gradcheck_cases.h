// The gradcheck registry: every differentiable op registers one or more
// cases (inputs at small sizes + the function to check). `loglin gradcheck`
// and the Catch2 test tests/ops/test_gradcheck_registry.cpp both run it.
//
// Each op family adds its cases in <family>/<family>_gradcheck.cpp through
// a function named add_<family>_gradcheck_cases, listed in gradcheck_cases.cpp.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "core/rng.h"

namespace loglin {

struct GradcheckCase {
  std::string op;     // the op's name, e.g. "matmul"; `loglin gradcheck <op>` selects by it
  std::string label;  // what the inputs are, e.g. "a[3,4] b[4,5]"
  // f64 inputs; those to check have requires_grad set. Drawn from `gen`.
  std::function<std::vector<Tensor>(Generator& gen)> make_inputs;
  GradcheckFn fn;
  GradcheckOptions options{};
};

// Every registered case, in registration order.
const std::vector<GradcheckCase>& gradcheck_cases();
// The distinct op names, in registration order.
std::vector<std::string> gradcheck_op_names();

struct GradcheckRow {
  const GradcheckCase* gcase;
  GradcheckResult result;
};
// Runs the cases of `op` (all when empty), each with fresh inputs drawn from
// a generator seeded by `seed`. Errors if `op` names no registered op.
std::vector<GradcheckRow> run_gradcheck(const std::string& op = "", uint64_t seed = 0);

// Helpers for writing cases: an f64 input drawn N(0,1) (or U(lo,hi)) with
// requires_grad on, and its label part ("x[3,4]").
Tensor gc_randn(Generator& gen, const Shape& shape, bool requires_grad = true);
Tensor gc_uniform(Generator& gen, const Shape& shape, double lo, double hi, bool requires_grad = true);
std::string gc_label(const std::vector<std::pair<std::string, Shape>>& parts);

// One per op family (see gradcheck_cases.cpp).
void add_elementwise_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_reduce_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_shape_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_matmul_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_where_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_cumsum_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_embedding_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_softmax_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_cross_entropy_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_norm_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_conv1d_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_dropout_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_log_linear_attention_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_scalar_decay_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_gated_delta_rule_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_rotary_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_attention_gradcheck_cases(std::vector<GradcheckCase>& cases);
void add_swiglu_gradcheck_cases(std::vector<GradcheckCase>& cases);

}  // namespace loglin

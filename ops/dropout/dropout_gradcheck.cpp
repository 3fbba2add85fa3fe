// PLACEHOLDER (being written): gradcheck cases for dropout.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_dropout_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

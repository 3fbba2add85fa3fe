// PLACEHOLDER (being written): gradcheck cases for norm.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_norm_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

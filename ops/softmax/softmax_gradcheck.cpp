// PLACEHOLDER (being written): gradcheck cases for softmax.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_softmax_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

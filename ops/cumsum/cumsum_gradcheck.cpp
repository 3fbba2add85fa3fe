// PLACEHOLDER (being written): gradcheck cases for cumsum.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_cumsum_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

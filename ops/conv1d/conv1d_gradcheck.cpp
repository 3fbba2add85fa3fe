// PLACEHOLDER (being written): gradcheck cases for conv1d.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_conv1d_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

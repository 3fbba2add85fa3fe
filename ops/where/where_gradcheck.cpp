// PLACEHOLDER (being written): gradcheck cases for where.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_where_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

// PLACEHOLDER (being written): gradcheck cases for embedding.
#include "ops/gradcheck_cases.h"
namespace loglin {
void add_embedding_gradcheck_cases(std::vector<GradcheckCase>&) {}
}  // namespace loglin

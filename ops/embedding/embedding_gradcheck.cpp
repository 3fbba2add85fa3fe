// Gradcheck cases for embedding. The ids repeat so that the backward's
// accumulation of repeated rows is checked; some rows are never used.
#include "ops/embedding/embedding.h"
#include "ops/gradcheck_cases.h"

namespace loglin {

void add_embedding_gradcheck_cases(std::vector<GradcheckCase>& cases) {
  cases.push_back({"embedding", "weight[6,3] ids i64[2,4] with repeats",
                   [](Generator& g) {
                     Tensor ids = Tensor::from_vector<int64_t>({0, 2, 2, 5, 1, 2, 0, 5}, {2, 4});
                     return std::vector<Tensor>{gc_randn(g, {6, 3}), ids};
                   },
                   [](const std::vector<Tensor>& x) { return embedding(x[0], x[1]); }});
  cases.push_back({"embedding", "weight[5,4] ids i32[6] with repeats",
                   [](Generator& g) {
                     Tensor ids = Tensor::from_vector<int32_t>({4, 4, 4, 0, 3, 4}, {6});
                     return std::vector<Tensor>{gc_randn(g, {5, 4}), ids};
                   },
                   [](const std::vector<Tensor>& x) { return embedding(x[0], x[1]); }});
}

}  // namespace loglin

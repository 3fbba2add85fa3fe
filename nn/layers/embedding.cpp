#include "nn/layers/embedding.h"

#include "ops/ops.h"

namespace loglin::nn {

Embedding::Embedding(const EmbeddingOptions& o, Generator& gen) : options(o) {
  LOGLIN_CHECK(o.num_embeddings() > 0 && o.embedding_dim() > 0, "[Embedding] sizes must be positive, got {} x {}",
               o.num_embeddings(), o.embedding_dim());
  weight = register_parameter("weight",
                              mul(randn({o.num_embeddings(), o.embedding_dim()}, DType::f32, gen), o.init_std()));
}

Tensor Embedding::forward(const Tensor& ids) const { return embedding(weight, ids); }

}  // namespace loglin::nn

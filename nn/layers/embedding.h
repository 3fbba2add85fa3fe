// Token embedding table: ids [...] -> vectors [..., dim].
#pragma once
#include "core/rng.h"
#include "nn/module.h"
#include "nn/options.h"

namespace loglin::nn {

struct EmbeddingOptions {
  EmbeddingOptions(int64_t num, int64_t dim) : num_embeddings_(num), embedding_dim_(dim) {}
  LOGLIN_ARG(int64_t, num_embeddings);
  LOGLIN_ARG(int64_t, embedding_dim);
  LOGLIN_ARG(double, init_std) = 0.02;
};

class Embedding : public Module {
 public:
  explicit Embedding(const EmbeddingOptions& options, Generator& gen = default_generator());
  Tensor forward(const Tensor& ids) const;
  std::string type_name() const override { return "Embedding"; }

  EmbeddingOptions options;
  Tensor weight;  // [num_embeddings, embedding_dim]
};

}  // namespace loglin::nn

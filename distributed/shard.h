// Batch sharding: which part of the batch stream each rank trains on.
//
// The rule: every rank draws the same global batch (the same dataset, the
// same seeded generator, so the same stream of batches), and rank r of N
// keeps the contiguous rows [r * B/N, (r + 1) * B/N) of each global batch of
// B rows. So
//   - the shards are disjoint and together are exactly the global batch;
//   - N ranks with B/N rows each see the batches a single process with B
//     rows sees, and averaging their gradients gives the single-process
//     gradient (tests/distributed pin this);
//   - the data position saved in a checkpoint (generator state + batches
//     drawn) is the same on every rank, so resuming needs no change.
// The cost is that every rank builds the whole global batch and drops the
// rest, which is cheap for token windows. B must be a multiple of N: with
// equal shards the average of the ranks' mean losses is the global mean.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace loglin::dist {

class BatchShard {
 public:
  BatchShard(int rank, int world_size);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // Rows of a global batch of `global_rows` this rank keeps: [begin, begin + rows).
  int64_t rows(int64_t global_rows) const;
  int64_t begin(int64_t global_rows) const;
  // This rank's rows of `global` (dim 0 is the batch): a view, no copy.
  Tensor slice(const Tensor& global) const;

 private:
  int rank_;
  int world_size_;
};

}  // namespace loglin::dist

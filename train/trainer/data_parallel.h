// The trainer's side of data parallelism (distributed/README.md): which rows
// of a global batch a rank trains on, and how its mean loss is weighted.
#pragma once
#include "distributed/shard.h"
#include "train/data/batch.h"

namespace loglin {

struct ShardedBatch {
  Batch batch;               // this rank's rows (views of the global batch)
  double loss_weight = 1.0;  // world_size * counted targets here / counted targets in the whole batch
  int64_t targets = 0;       // counted targets (not kIgnoreIndex) in this rank's rows
};

// This rank's rows of `global` and the weight of its mean loss: with targets
// ignored unevenly (MQAR's kIgnoreIndex), the plain average of the ranks'
// mean losses is not the mean over the whole batch; the average of
// loss_weight * mean loss is, and so are the averaged gradients. 1 when every
// shard counts as many targets; 0 for a shard without counted targets (its
// mean loss is undefined and contributes nothing); 1 when the whole batch has
// none (as one process, which sees the same batch). Needs no communication:
// every rank holds the whole global batch.
ShardedBatch shard_batch(const Batch& global, const dist::BatchShard& shard);

}  // namespace loglin

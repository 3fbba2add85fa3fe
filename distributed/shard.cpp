#include "distributed/shard.h"

#include "core/error.h"

namespace loglin::dist {

BatchShard::BatchShard(int rank, int world_size) : rank_(rank), world_size_(world_size) {
  LOGLIN_CHECK(world_size >= 1, "[dist] batch shard: world size {} (need at least 1 rank)", world_size);
  LOGLIN_CHECK(rank >= 0 && rank < world_size, "[dist] batch shard: rank {} outside 0..{}", rank, world_size - 1);
}

int64_t BatchShard::rows(int64_t global_rows) const {
  LOGLIN_CHECK(global_rows > 0 && global_rows % world_size_ == 0,
               "[dist] batch shard: a batch of {} rows cannot be split evenly over {} ranks; make data.batch_size a "
               "multiple of the number of GPUs",
               global_rows, world_size_);
  return global_rows / world_size_;
}

int64_t BatchShard::begin(int64_t global_rows) const { return rank_ * rows(global_rows); }

Tensor BatchShard::slice(const Tensor& global) const {
  LOGLIN_CHECK(global.defined() && global.dim() >= 1, "[dist] batch shard: the batch needs a leading batch dimension");
  const int64_t n = rows(global.size(0));
  return global.narrow(0, rank_ * n, n);
}

}  // namespace loglin::dist

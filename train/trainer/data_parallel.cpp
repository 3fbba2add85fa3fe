#include "train/trainer/data_parallel.h"

namespace loglin {
namespace {

int64_t count_targets(const Tensor& targets) {
  int64_t n = 0;
  for (int64_t t : targets.to_vector<int64_t>()) n += t != kIgnoreIndex;
  return n;
}

}  // namespace

ShardedBatch shard_batch(const Batch& global, const dist::BatchShard& shard) {
  ShardedBatch s;
  s.batch = Batch{shard.slice(global.inputs), shard.slice(global.targets)};
  s.targets = count_targets(s.batch.targets);
  const int64_t all = count_targets(global.targets);
  if (all > 0) s.loss_weight = static_cast<double>(shard.world_size()) * static_cast<double>(s.targets) / static_cast<double>(all);
  return s;
}

}  // namespace loglin

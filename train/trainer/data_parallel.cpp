#include "train/trainer/data_parallel.h"

namespace loglin {
namespace {

int64_t count_targets(const Tensor& targets) {
  int64_t n = 0;
  for (int64_t t : targets.to_vector<int64_t>()) n += t != kIgnoreIndex;
  return n;
}

// The segments of rows [r0, r1) of a packed batch of T-token rows, moved to
// start at 0: every row start is a segment start, so both ends are entries.
Tensor rows_of_cu_seqlens(const Tensor& cu_seqlens, int64_t T, int64_t r0, int64_t r1) {
  std::vector<int64_t> out;
  for (int64_t c : cu_seqlens.to_vector<int64_t>())
    if (c >= r0 * T && c <= r1 * T) out.push_back(c - r0 * T);
  LOGLIN_CHECK(out.size() >= 2 && out.front() == 0 && out.back() == (r1 - r0) * T,
               "[data] cu_seqlens does not start a segment at rows {} and {} (rows of {} tokens), so the batch cannot "
               "be split by rows",
               r0, r1, T);
  return Tensor::from_vector(out, {static_cast<int64_t>(out.size())});
}

}  // namespace

ShardedBatch shard_batch(const Batch& global, const dist::BatchShard& shard) {
  ShardedBatch s;
  s.batch = Batch{shard.slice(global.inputs), shard.slice(global.targets)};
  if (global.cu_seqlens.defined()) {
    const int64_t rows = global.inputs.size(0), r0 = shard.begin(rows);
    s.batch.cu_seqlens = rows_of_cu_seqlens(global.cu_seqlens, global.inputs.size(1), r0, r0 + shard.rows(rows));
  }
  s.targets = count_targets(s.batch.targets);
  const int64_t all = count_targets(global.targets);
  if (all > 0) s.loss_weight = static_cast<double>(shard.world_size()) * static_cast<double>(s.targets) / static_cast<double>(all);
  return s;
}

}  // namespace loglin

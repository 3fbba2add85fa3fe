// ZeRO-1 (optimizer state sharding): which rank keeps the optimizer state of
// each parameter, updates it, and then broadcasts it to the others. Pure
// planning, like plan_buckets; the sharded optimizer (train/trainer/
// sharded_optimizer.h) does the rest.
//
// Whole parameters, balanced by size: in order of decreasing element count
// (ties: the earlier parameter first), each goes to the rank that owns the
// fewest elements so far (ties: the lowest rank). Every rank plans from the
// same model, so every rank gets the same answer.
//
//   sizes 100 60 50 10, 2 ranks:  owners 0 1 1 0   (100 + 10 | 60 + 50)
#pragma once
#include <vector>

#include "core/tensor.h"

namespace loglin::dist {

// owners[i]: the rank of params[i], in 0 .. world_size - 1. Ranks may own
// nothing when there are fewer parameters than ranks.
std::vector<int> plan_param_owners(const std::vector<Tensor>& params, int world_size);

}  // namespace loglin::dist

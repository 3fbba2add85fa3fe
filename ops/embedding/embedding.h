// Row gather: out[..., :] = weight[ids[...], :]. ids are i32/i64 of any
// shape; the backward scatter-adds rows (repeated ids accumulate).
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor embedding(const Tensor& weight, const Tensor& ids);

}  // namespace loglin

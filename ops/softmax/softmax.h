// softmax and log_softmax along a dim, max-subtracted for stability.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

}  // namespace loglin

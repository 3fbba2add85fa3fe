// Fused cross-entropy: logits [N, C] (or [..., C]) and integer targets [N]
// (or [...]). Returns the mean of -log softmax(logits)[target] over targets
// that are not ignore_index (0 when every target is ignored). One pass
// forward; the backward is softmax - onehot, scaled, without a second
// log_softmax.
// On the CPU an out-of-range target is an error; on CUDA it is not checked
// (that would need a host sync) and makes the loss NaN instead.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);

}  // namespace loglin

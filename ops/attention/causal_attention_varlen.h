// Causal softmax attention over packed documents: the T axis of q, k, v
// holds several documents back to back, and a query sees only the earlier
// keys of its own document (a block-diagonal causal mask). Composed from
// causal_attention, one call per document on views of the inputs, and cat:
// it runs wherever causal_attention runs (CPU, CUDA, bf16) and needs no
// backward of its own. One call per document costs a launch each, which
// matters only for many very short documents.
#pragma once
#include "core/tensor.h"

namespace loglin {

// q, k, v [1, H, T, D]; cu_seqlens [N + 1]: an integer 1-D tensor strictly
// increasing from 0 to T, document i holding positions [cu[i], cu[i+1]).
// -> o [1, H, T, D]; o[:, :, t] = causal_attention within t's document.
Tensor causal_attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                               const Tensor& cu_seqlens);

}  // namespace loglin

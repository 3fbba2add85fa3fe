// Packed documents for causal_conv1d: where each row of x sits in its own
// document, from the cu_seqlens the chunked linear-attention ops take too
// (ops/chunk_layout/checks.h: 1-D integer [N + 1], B == 1, strictly
// increasing from 0 to T). The conv's window of taps restarts where the
// position is 0.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace loglin {

// x [B, T, C] with cu_seqlens [N + 1] -> the position of each of the T rows in
// its document (0 at every cu_seqlens[i]); errors name causal_conv1d.
std::vector<int64_t> conv1d_document_positions(const Tensor& cu_seqlens, int64_t B, int64_t T);

}  // namespace loglin

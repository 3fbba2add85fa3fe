// Input checks shared by the ops of the chunked linear-attention family.
// Errors name the calling op.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"

namespace loglin::lla {

// The sequence starts of a cu_seqlens tensor for an input of B rows of T
// positions, checked (1-D integer [N + 1], B == 1, strictly increasing from 0
// to T); errors name `op`.
std::vector<int64_t> read_cu_seqlens(const char* op, const Tensor& cu, int64_t B, int64_t T);

// Checks q, k, v, g (shapes, G | H, chunk a power of two, dtypes, finite g on
// the cpu) and cu_seqlens for `op`; returns the layout with L = 0 and every
// sequence at position 0. q, k [B, T, G, K]; v [B, T, H, V]; g [B, T, H].
// bf16_ok: q, k, v may be bf16 (a CUDA version with native bf16 launchers).
Layout check_qkvg(const char* op, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                  const Tensor& cu_seqlens, int64_t chunk, bool bf16_ok = false);

}  // namespace loglin::lla

// Internal to log-linear attention: the op's name for messages and its input
// checks, shared by the entry, the plan, the naive key and the CPU code.
#pragma once
#include "core/tensor.h"
#include "ops/chunk_layout/checks.h"
#include "ops/chunk_layout/layout.h"
#include "ops/log_linear_attention/types.h"

namespace loglin::lla {

// Every error message starts with it.
inline constexpr const char* kOpName = "log_linear_attention";

// Checks the op's inputs as the SPEC asks (shapes, G | H, L large enough for
// the last position, power-of-two chunk, dtypes, finite g, cu_seqlens, the
// initial state) and returns the layout: one Seq per batch element, or per
// cu_seqlens sequence, with the state's positions. Errors name the op.
// bf16_ok: q, k, v, ls may be bf16 (a CUDA version with native bf16
// launchers; the state levels are then f32).
Layout check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& ls,
                    const Tensor& cu_seqlens, int64_t chunk, const LogLinearState* state, bool bf16_ok = false);

}  // namespace loglin::lla

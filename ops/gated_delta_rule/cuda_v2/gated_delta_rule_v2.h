// Launchers of the gated delta rule's CUDA version v2: the chunked WY form of
// SPEC-gated-deltanet.md section 4 on TF32 tensor cores (gated_delta_rule_v2.cu
// explains it). Plain C++17 declarations; f32 inputs only (bf16 reaches it
// converted to f32 by the entry). Everything runs on the device's stream.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/gated_delta_rule/cuda/gdr_cuda.h"

namespace loglin::gdr::v2 {

// Rows per chunk (fixed: the math does not depend on it, only the cost).
constexpr int64_t kChunk = 64;
// V columns one scan block owns.
constexpr int64_t kPanel = 64;

// The shapes v2 has kernels for: K a multiple of 16, V a multiple of 64, at
// most 64 levels. Others take v1.
bool shape_supported(const GpuProblem& p);

// Bytes of workspace the forward needs (state_out: the final state is asked).
size_t forward_workspace_bytes(const GpuProblem& p, bool state_out);

// o, and the final state when f.state_out is set.
void forward(const GpuProblem& p, const GpuForward<float>& f, void* workspace);

// The plain form's chunked backward (gated_delta_rule_v2_backward.cu): every
// gradient of GpuBackward. The log-linear form is not taken (v1's backward
// serves it).
size_t backward_workspace_bytes(const GpuProblem& p);
void backward(const GpuProblem& p, const GpuBackward<float>& b, void* workspace);

}  // namespace loglin::gdr::v2

// Launchers of the gated delta rule's CUDA version v1 (simple and correct:
// the per-level token recurrence, gated_delta_rule_v1.cu). Plain C++17
// declarations, instantiated for float and double. Everything runs on the
// device's stream; nothing waits for the host.
#pragma once
#include <cstddef>
#include <cstdint>

#include "ops/gated_delta_rule/cuda/gdr_cuda.h"

namespace loglin::gdr::v1 {

// The most state levels v1 takes (the backward keeps three scalars per level
// per thread in local arrays; 64 levels reach position 2^63, as on the CPU).
constexpr int64_t kMaxLevels = 64;

// Bytes of workspace one pass needs, for elements of elem_bytes (4: f32, 8: f64).
size_t workspace_bytes(const GpuProblem& p, size_t elem_bytes, bool backward);

// o, and the final state when f.state_out is set.
template <class T>
void forward(const GpuProblem& p, const GpuForward<T>& f, void* workspace);

// Every gradient of GpuBackward (dstate_in when set); recomputes the
// forward's states from checkpoints it writes into the workspace.
template <class T>
void backward(const GpuProblem& p, const GpuBackward<T>& b, void* workspace);

}  // namespace loglin::gdr::v1

// The option and state types of log-linear attention: what the entry, the
// CPU and CUDA code and the layers share. Only tensors and std here, so the
// implementations include this and not the public header.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace loglin {

// The recurrent state of log-linear attention after some tokens: one K x V
// matrix per level per head per sequence (SPEC section 4).
//   levels[n, h, l] = sum over the consumed sources s with
//                     level(c, s) = l of exp(G_c - G_s) k_s v_s^T,
// where c = positions[n] - 1 is sequence n's last consumed position.
// Positions continue: a forward or step from this state computes positions
// positions[n], positions[n] + 1, ... A sequence with position 0 holds nothing
// (its levels must be zero).
struct LogLinearState {
  Tensor levels;                   // [N, H, L, K, V]; N = B, or the number of sequences with cu_seqlens
  std::vector<int64_t> positions;  // tokens consumed, per sequence (size N)

  // The empty state (position 0) for N sequences.
  static LogLinearState zeros(int64_t N, int64_t H, int64_t L, int64_t K, int64_t V, DType dtype = DType::f32);
};

// Options with chained setters:
//   LogLinearAttentionOptions().chunk_size(32).cu_seqlens(cu).initial_state(st).return_final_state()
class LogLinearAttentionOptions {
 public:
  // Chunk size C of the chunked algorithm: a power of two (default 64). It
  // changes the rounding, never the answer.
  LogLinearAttentionOptions& chunk_size(int64_t c) {
    chunk_size_ = c;
    return *this;
  }
  // Packed variable-length batch: B must be 1 and sequence i holds rows
  // [cu[i], cu[i+1]) of the T axis; positions and levels restart at each
  // sequence start. An integer (i32 or i64) 1-D tensor [N + 1], strictly
  // increasing from 0 to T.
  LogLinearAttentionOptions& cu_seqlens(Tensor cu) {
    cu_seqlens_ = std::move(cu);
    return *this;
  }
  // Continue from a state (one per sequence: N = B, or the number of
  // sequences with cu_seqlens). Gradients flow into state.levels when it
  // requires grad.
  LogLinearAttentionOptions& initial_state(LogLinearState s) {
    initial_state_ = std::move(s);
    has_initial_state_ = true;
    return *this;
  }
  // Ask log_linear_attention_with_state for the state after the last token.
  LogLinearAttentionOptions& return_final_state(bool on = true) {
    return_final_state_ = on;
    return *this;
  }

  int64_t chunk_size() const { return chunk_size_; }
  const Tensor& cu_seqlens() const { return cu_seqlens_; }
  bool has_initial_state() const { return has_initial_state_; }
  const LogLinearState& initial_state() const { return initial_state_; }
  bool return_final_state() const { return return_final_state_; }

 private:
  int64_t chunk_size_ = 64;
  Tensor cu_seqlens_;
  LogLinearState initial_state_;
  bool has_initial_state_ = false;
  bool return_final_state_ = false;
};

struct LogLinearAttentionOutput {
  Tensor o;                     // [B, T, H, V]
  LogLinearState final_state;   // levels defined only when return_final_state() was asked
};

}  // namespace loglin

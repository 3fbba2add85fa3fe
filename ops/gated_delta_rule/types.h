// The types every implementation of the gated delta rule shares
// (SPEC-gated-deltanet.md): the recurrent state a call starts from and hands
// back, the options, and the output. They mirror log-linear attention's
// LogLinearState and LogLinearAttentionOptions, so that code moving between
// the two ops reads the same. The plain gated delta rule is the log-linear
// form with one level and no level scales: its state is the single K x V
// matrix S per head, stored as level 0 of a one-level state.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace loglin {

// The state after some tokens, one K x V matrix per level per head per
// sequence (SPEC section 2). With c = positions[n] - 1 the last consumed
// position of sequence n, and P(c, s) = A_c ... A_{s+1}:
//   levels[n, h, l] = sum over consumed s with level(c, s) = l of
//                     beta_s P(c, s) k_s v_s^T
// (L = 1, the plain form: every consumed s, i.e. the gated delta rule's S).
// Positions continue: a call from this state computes positions
// positions[n], positions[n] + 1, ...; a sequence at position 0 holds nothing
// and its levels must be zero.
struct GatedDeltaState {
  Tensor levels;                   // [N, H, L, K, V]; N = B, or the number of sequences with cu_seqlens
  std::vector<int64_t> positions;  // tokens consumed, per sequence (size N)

  // The empty state (position 0) for N sequences; L = 1 for the plain form.
  static GatedDeltaState zeros(int64_t N, int64_t H, int64_t L, int64_t K, int64_t V, DType dtype = DType::f32) {
    return {Tensor::zeros({N, H, L, K, V}, dtype), std::vector<int64_t>(static_cast<size_t>(N), 0)};
  }
};

// Options with chained setters:
//   GatedDeltaRuleOptions().chunk_size(32).cu_seqlens(cu).initial_state(st).return_final_state()
class GatedDeltaRuleOptions {
 public:
  // Chunk size C of the chunked algorithm: a power of two (default 64). It
  // changes the rounding, never the answer; the references only check it.
  GatedDeltaRuleOptions& chunk_size(int64_t c) {
    chunk_size_ = c;
    return *this;
  }
  // Packed variable-length batch: B must be 1 and sequence i holds rows
  // [cu[i], cu[i+1]) of the T axis; states and positions restart at each
  // sequence start. An integer (i32 or i64) 1-D tensor [N + 1], strictly
  // increasing from 0 to T.
  GatedDeltaRuleOptions& cu_seqlens(Tensor cu) {
    cu_seqlens_ = std::move(cu);
    return *this;
  }
  // Continue from a state (one per sequence). Gradients flow into
  // state.levels when it requires grad.
  GatedDeltaRuleOptions& initial_state(GatedDeltaState s) {
    initial_state_ = std::move(s);
    has_initial_state_ = true;
    return *this;
  }
  // Hand back the state after the last token of every sequence.
  GatedDeltaRuleOptions& return_final_state(bool on = true) {
    return_final_state_ = on;
    return *this;
  }

  int64_t chunk_size() const { return chunk_size_; }
  const Tensor& cu_seqlens() const { return cu_seqlens_; }
  bool has_initial_state() const { return has_initial_state_; }
  const GatedDeltaState& initial_state() const { return initial_state_; }
  bool return_final_state() const { return return_final_state_; }

 private:
  int64_t chunk_size_ = 64;
  Tensor cu_seqlens_;
  GatedDeltaState initial_state_;
  bool has_initial_state_ = false;
  bool return_final_state_ = false;
};

struct GatedDeltaRuleOutput {
  Tensor o;                     // [B, T, H, V]
  GatedDeltaState final_state;  // levels defined only when return_final_state() was asked
};

}  // namespace loglin

// Log-linear attention (SPEC-log-linear-attention.md), the op of loglin.
//
//   o_t = sum_{s <= t} lambda_t[level(t,s)] * exp(G_t - G_s) * (q_t . k_s) * v_s,
//   level(t, s) = bit_length(t XOR s),  G_t = g_0 + ... + g_t.
//
// Three implementations of the same operator live in this folder:
//   - log_linear_attention_naive: the T x T definition in plain loops,
//     float64 accumulation, forward only. The answer key for tests.
//   - the chunked CPU forward and backward (chunk_forward_cpu.cpp,
//     chunk_backward_cpu.cpp): the algorithm of SPEC section 3, the model the
//     CUDA kernels follow. log_linear_attention() runs it.
//   - log_linear_attention_step: recurrent decoding, one token at a time, on
//     a LogLinearState (SPEC section 4).
// README.md in this folder explains the algorithm in the code's own names.
//
// dtypes: q, k, v and level_scales share one dtype, f32 or f64 (f64 is for
// gradcheck). bf16 inputs are converted to f32 at the entry (differentiably,
// so their gradients come back in bf16) and o is returned in bf16. g is f32;
// f64 is accepted when q, k, v and level_scales are f64. State levels have the
// compute dtype (f32, or f64 with f64 inputs).
#pragma once
#include <cstdint>
#include <optional>
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

// The op (chunked CPU algorithm), differentiable in q, k, v, g, level_scales
// and the initial state's levels.
//   q, k [B, T, G, K]; v [B, T, H, V]; g [B, T, H]; level_scales [B, T, H, L]
//   with G dividing H (head h reads group h / (H / G)) and
//   L >= bit_length(last position) + 1. Returns o [B, T, H, V].
// The final state is available through log_linear_attention_with_state.
Tensor log_linear_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                            const Tensor& level_scales,
                            const LogLinearAttentionOptions& options = LogLinearAttentionOptions());

// The same, also returning the final state when options.return_final_state()
// is set. Its levels are a second autograd output: a loss on them
// back-propagates into q, k, v, g (and the initial state).
LogLinearAttentionOutput log_linear_attention_with_state(
    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
    const LogLinearAttentionOptions& options = LogLinearAttentionOptions());

// Whether f32 calls on CUDA may run on TF32 tensor cores (kernel version
// v2: inputs rounded to 10 mantissa bits inside the products, f32
// accumulation, g and the decays in f32; about 1e-3 relative error) instead
// of v1's full-f32 SIMT kernels, which are about 10x slower. Off by default;
// process-wide. The environment variable LOGLIN_LLA_TF32=1 turns it on at
// start-up; the setter wins over it. training.precision "tf32" sets it (and
// set_matmul_allow_tf32). K and V must be 32, 64 or 128 for the TF32
// kernels (the backward: not both 128); other shapes run v1.
void set_log_linear_attention_allow_tf32(bool allow);
bool log_linear_attention_allow_tf32();

// Recurrent decoding (SPEC section 4): consumes one token per sequence and
// returns its output. Inference only: nothing is recorded for autograd.
//   q, k [N, G, K]; v [N, H, V]; g [N, H]; level_scales [N, H, L]
//   -> o [N, H, V]. state.levels gets a fresh tensor (tensors handed out
//   before are never modified) and every position advances by one.
Tensor log_linear_attention_step(LogLinearState& state, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& g, const Tensor& level_scales);

// The answer key: the T x T definition in plain loops with float64
// accumulation, no autograd. Same shapes as the op; o comes back in q's dtype.
// cu_seqlens (optional) as in the options.
Tensor log_linear_attention_naive(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                  const Tensor& level_scales, const Tensor& cu_seqlens = Tensor());

// The gradients of SPEC section 2 evaluated by the same T x T loops, for
// tests: for the output gradient do [B, T, H, V], each input's gradient in
// that input's dtype. dg is summed pair by pair, not by the dG identity, so
// it checks that identity too.
struct LogLinearAttentionGrads {
  Tensor dq, dk, dv, dg, dlevel_scales;
};
LogLinearAttentionGrads log_linear_attention_naive_backward(const Tensor& q, const Tensor& k, const Tensor& v,
                                                            const Tensor& g, const Tensor& level_scales,
                                                            const Tensor& dout,
                                                            const Tensor& cu_seqlens = Tensor());

}  // namespace loglin

namespace loglin::lla {

// o of log_linear_attention for f32 inputs on CUDA under bf16 autocast when
// a kernel version with native bf16 launchers (tensor cores) takes the call,
// differentiable as the op is; nullopt, with nothing computed, otherwise.
// scalar_decay_attention's road to the tensor cores (level_scales all 1).
std::optional<Tensor> autocast_tensor_core_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                                     const Tensor& g, const Tensor& level_scales,
                                                     const LogLinearAttentionOptions& options);

// The same for f32 inputs on CUDA when TF32 is allowed
// (set_log_linear_attention_allow_tf32): o when the chosen version runs
// them on tensor cores (v2), nullopt otherwise.
std::optional<Tensor> tf32_tensor_core_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                                 const Tensor& level_scales, const LogLinearAttentionOptions& options);

}  // namespace loglin::lla


// The interface every sequence mixer implements, so a block can hold any of
// them and decoding works the same way for all.
#pragma once
#include <memory>

#include "nn/module.h"

namespace loglin::nn {

// What a mixer carries between decoding calls (KV cache, conv window,
// recurrent state). Each mixer defines its own.
struct MixerState {
  virtual ~MixerState() = default;
};

class Mixer : public Module {
 public:
  // x [B, T, D] -> [B, T, D], causal: output t sees inputs 0..t only.
  virtual Tensor forward(const Tensor& x) const = 0;
  virtual std::unique_ptr<MixerState> initial_state(int64_t batch) const = 0;
  // Continues the sequences in `state` with x [B, T, D] (T = 1 when
  // decoding, more for a prompt) and advances the state. Inference only.
  virtual Tensor step(const Tensor& x, MixerState& state) const = 0;
};

}  // namespace loglin::nn

// The interface every sequence mixer implements, so a block can hold any of
// them and decoding works the same way for all.
#pragma once
#include <memory>

#include "core/error.h"
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
  // Packed documents: x [B, T, D] read as one stream of B*T tokens (row
  // after row) holding documents back to back; cu_seqlens [N + 1] (an integer
  // tensor on the cpu, strictly increasing from 0 to B*T) says where each
  // starts. An output sees only the inputs of its own document up to it:
  // states, conv windows and attention restart at every start, as if each
  // document ran on its own. A mixer that cannot do that keeps this default,
  // a clear error.
  virtual Tensor forward_packed(const Tensor& x, const Tensor& cu_seqlens) const {
    (void)x, (void)cu_seqlens;
    LOGLIN_FAIL("[{}] cannot reset at document boundaries (no forward_packed), so it cannot run packed documents",
                type_name());
  }
  // Whether forward_packed works; asked before training on packed documents.
  virtual bool resets_at_documents() const { return false; }
  virtual std::unique_ptr<MixerState> initial_state(int64_t batch) const = 0;
  // Continues the sequences in `state` with x [B, T, D] (T = 1 when
  // decoding, more for a prompt) and advances the state. Inference only.
  virtual Tensor step(const Tensor& x, MixerState& state) const = 0;
};

}  // namespace loglin::nn

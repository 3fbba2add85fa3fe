// Depthwise causal conv over time (Mamba's short conv), with the rolling
// state that decoding needs: the last W-1 inputs. An optional activation
// (ConvActivation::silu, as Mamba-2 uses) is fused into the op, forward and
// step alike; the parameter names (weight, bias) do not depend on it.
#pragma once
#include "core/rng.h"
#include "nn/module.h"
#include "nn/options.h"
#include "ops/conv1d/causal_conv1d.h"

namespace loglin::nn {

struct CausalConv1dOptions {
  CausalConv1dOptions(int64_t channels, int64_t kernel) : channels_(channels), kernel_size_(kernel) {}
  LOGLIN_ARG(int64_t, channels);
  LOGLIN_ARG(int64_t, kernel_size);
  LOGLIN_ARG(bool, bias) = true;
  LOGLIN_ARG(ConvActivation, activation) = ConvActivation::none;
};

class CausalConv1d : public Module {
 public:
  explicit CausalConv1d(const CausalConv1dOptions& options, Generator& gen = default_generator());
  // x [B, T, C] -> act(conv(x)) [B, T, C]. With cu_seqlens (packed
  // documents, B = 1; see causal_conv1d) the window restarts at each
  // document start.
  Tensor forward(const Tensor& x, const Tensor& cu_seqlens = Tensor()) const;
  // One time step: x_t [B, C] -> [B, C], the same as forward's output at that
  // time; state [B, W-1, C] holds the previous inputs (zeros at the start)
  // and is advanced in place.
  Tensor step(const Tensor& x_t, Tensor& state) const;
  // Several time steps at once (a prompt): x [B, T, C] -> [B, T, C], the
  // same as T calls of step(); the state advances by T.
  Tensor prefill(const Tensor& x, Tensor& state) const;
  Tensor initial_state(int64_t batch) const;
  std::string type_name() const override { return "CausalConv1d"; }

  CausalConv1dOptions options;
  Tensor weight, bias;  // [C, W], [C]
};

}  // namespace loglin::nn

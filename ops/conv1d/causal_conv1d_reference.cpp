// The composite causal conv1d (causal_conv1d_reference.h): one term per tap,
// x shifted down by the tap's distance d = W-1-j (zeros enter at the top),
// times the tap's weights, times a 0/1 mask of the rows at least d positions
// into their document (all rows past d without cu_seqlens: the shift's zeros
// already cover the sequence start).
#include "ops/conv1d/causal_conv1d_reference.h"

#include "ops/conv1d/document_positions.h"
#include "ops/elementwise/binary.h"
#include "ops/elementwise/unary.h"
#include "ops/op_checks.h"
#include "ops/shape/cat.h"

namespace loglin {

// x (B,T,C), weight (C,W), bias (C) or undefined -> (B,T,C).
Tensor causal_conv1d_reference(const Tensor& x, const Tensor& weight, const Tensor& bias, ConvActivation act,
                               const Tensor& cu_seqlens) {
  const char* op = "causal_conv1d_reference";
  check_defined(op, {&x, &weight});
  check_dim(op, x, 3, "x [B, T, C]");
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  LOGLIN_CHECK(weight.dim() == 2 && weight.size(0) == C && weight.size(1) >= 1,
               "[{}] weight must be [C, W] with C = {} and W >= 1, got {}", op, C, shape_str(weight.shape()));
  const int64_t W = weight.size(1);
  std::vector<int64_t> pos;
  if (cu_seqlens.defined()) pos = conv1d_document_positions(cu_seqlens, B, T);

  Tensor z = bias.defined() ? bias : Tensor();
  for (int64_t j = 0; j < W; ++j) {
    const int64_t d = W - 1 - j;
    if (d >= T) continue;  // reads only the zeros before the start (d = 0 always runs)
    Tensor shifted =
        d == 0 ? x : cat({Tensor::zeros({B, d, C}, x.dtype(), x.device()), x.narrow(1, 0, T - d)}, 1);
    Tensor term = shifted * weight.narrow(1, j, 1).reshape({C});
    if (!pos.empty() && d > 0) {
      std::vector<double> keep(static_cast<size_t>(T));
      for (int64_t t = 0; t < T; ++t) keep[t] = pos[t] >= d ? 1.0 : 0.0;
      term = term * Tensor::from_vector(keep, {1, T, 1}).to(x.dtype()).to(x.device());
    }
    z = z.defined() ? z + term : term;
  }
  return act == ConvActivation::silu ? silu(z) : z;
}

}  // namespace loglin

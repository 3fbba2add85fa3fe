// Depthwise causal 1-D convolution over time, as in Mamba's short conv:
//   x [B, T, C], weight [C, W], bias [C] (may be undefined)
//   z[b, t, c] = bias[c] + sum_{j<W} weight[c, j] * x[b, t - (W-1) + j, c]
//   out = act(z): z itself (ConvActivation::none) or silu(z) (ConvActivation::silu)
// with x taken as 0 before t = 0. The fused silu equals silu(causal_conv1d(x,
// w, b)) without the extra pass each way: the backward recomputes z from the
// inputs (W taps), so nothing beyond x, weight and bias is saved.
// x may be a view: when its [B, T] dims merge into rows of one stride with a
// unit-stride channel dim (a narrow() or split() of the last dim of a wider
// tensor), it is read and saved in place; otherwise it is copied dense first.
//
// Packed documents: with cu_seqlens (B = 1; an integer 1-D tensor [N + 1],
// strictly increasing from 0 to T, as the chunked linear-attention ops take
// it) document i holds rows [cu[i], cu[i+1]) and x counts as 0 before its
// start, so no output reads another document. The CPU loops take it
// directly; on CUDA the call runs causal_conv1d_reference (primitive ops,
// several passes) since the kernels have no document boundaries yet.
#pragma once
#include "core/tensor.h"
#include "ops/conv1d/causal_conv1d_math.h"
#include "ops/plan.h"

namespace loglin {

Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                     ConvActivation activation = ConvActivation::none, const Tensor& cu_seqlens = Tensor());

// What causal_conv1d would run for these inputs (cpu, the CUDA version of
// causal_conv1d_versions.h, or the reference for packed documents on CUDA)
// and why. Runs nothing.
KernelPlan plan_causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                              const Tensor& cu_seqlens = Tensor());

}  // namespace loglin

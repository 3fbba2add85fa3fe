// Fused optimizer kernels over a chunk table (train/optim/multi_tensor_cuda.h):
// one launch updates, measures or scales every parameter on a device. The
// float math is the CPU loop's, operation for operation, each rounded on its
// own (the CPU build may fuse a few into FMAs, so the two agree to about an
// ulp per step rather than bitwise). Plain C++.
#pragma once
#include <cstdint>

#include "train/optim/multi_tensor_cuda.h"

namespace loglin::cuda {

// Per-step constants, computed on the host as the CPU step computes them.
struct AdamWStep {
  double lr = 0;  // each chunk's decay factor is float(1 - lr * weight_decay)
  float beta1 = 0, beta2 = 0, step_size = 0, inv_sqrt_bc2 = 0, eps = 0;
};

// param, grad, state0 = exp_avg, state1 = exp_avg_sq.
void adamw_step(const ParamChunk* table, int64_t n_chunks, const AdamWStep& s, int device);
// param, grad, state0 = momentum buffer.
void sgd_step(const ParamChunk* table, int64_t n_chunks, double lr, float momentum, int device);
// The sum of grad^2 over every chunk, accumulated in f64 on the device; waits
// for it (8 bytes come back to the host).
double grad_sum_of_squares(const ParamChunk* table, int64_t n_chunks, int device);
// grad *= scale over every chunk.
void scale_grads(const ParamChunk* table, int64_t n_chunks, float scale, int device);

}  // namespace loglin::cuda

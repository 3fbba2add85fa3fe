// Matrix products: Eigen on the CPU (row-major maps, no copies of contiguous
// operands), cuBLAS on CUDA (transposed views of contiguous matrices go in as
// transposes, not copies).
//   [M,K] @ [K,N] -> [M,N]; [...,M,K] @ [...,K,N] -> [...,M,N] with the batch
//   dims broadcast; a 1-D operand is a vector (dim added then removed).
// On CUDA: f64 and f32 in their own precision, bf16 x bf16 -> bf16 with f32
// accumulation, and under an AutocastGuard(DType::bf16) (ops/autocast.h)
// f32 x f32 is computed as bf16 x bf16 with f32 accumulation into f32.
// Under set_float32_matmul_precision("high") (ops/precision.h) f32 products
// on CUDA may round their inputs to TF32 (tensor cores, about 1e-3 relative
// error); "highest" (the default) keeps full f32.
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor matmul(const Tensor& a, const Tensor& b);


}  // namespace loglin

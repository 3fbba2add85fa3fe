// Matrix products through Eigen (row-major maps, no copies of contiguous
// operands).
//   [M,K] @ [K,N] -> [M,N]; [...,M,K] @ [...,K,N] -> [...,M,N] with the batch
//   dims broadcast; a 1-D operand is a vector (dim added then removed).
#pragma once
#include "core/tensor.h"

namespace loglin {

Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace loglin

// Matrix products on a CUDA device through cuBLAS. Plain C++ (no CUDA types):
// ops/matmul/matmul.cpp unpacks tensors into a GemmArgs.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace loglin::cuda {

// One operand of a row-major product, as it sits in memory: either row-major
// (element (i, j) at i * ld + j) or column-major (at i + j * ld), which is
// how a transposed view of a contiguous matrix looks. Consecutive matrices of
// a batch lie batch_stride elements apart (0 when broadcast).
struct GemmOperand {
  const void* data = nullptr;
  bool col_major = false;
  int64_t ld = 1;
  int64_t batch_stride = 0;
};

// For b in [0, batch): C_b = A_b @ B_b with A_b [M, K], B_b [K, N] and C_b
// [M, N] row-major (row stride ldc, batch_stride_c apart). A and B have dtype
// `in` (f32, f64 or bf16), C dtype `out` (= in, or f32 for bf16 inputs).
// f32 x f32 uses TF32 tensor cores only when allow_tf32; bf16 accumulates in
// f32. Queued on cuda::stream(device); nothing waits.
struct GemmArgs {
  int64_t M = 0, N = 0, K = 0, batch = 1;
  GemmOperand a, b;
  void* c = nullptr;
  int64_t ldc = 0, batch_stride_c = 0;
  DType in = DType::f32, out = DType::f32;
  bool allow_tf32 = false;
};

void gemm(const GemmArgs& args, int device);

}  // namespace loglin::cuda

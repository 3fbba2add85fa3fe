// Strided copies, dtype conversions and fills on a CUDA device: what
// Tensor::contiguous(), to(dtype) and fill() do for tensors on cuda.
// Plain C++ declarations; core/cuda_copy.cu has the kernels and
// core/cuda_runtime_stub.cpp the CPU-only build's errors.
#pragma once
#include <cstdint>

#include "core/dtype.h"
#include "core/strided_layout.h"

namespace loglin::cuda {

// dst[i] = src[i] converted to dst's dtype, for the n elements of the
// iteration shape both layouts describe (src may broadcast: stride 0).
void copy_strided(void* dst, DType dst_dtype, const StridedLayout& dst_layout, const void* src, DType src_dtype,
                  const StridedLayout& src_layout, int64_t n, int device);
void fill(void* dst, DType dtype, const StridedLayout& layout, double value, int64_t n, int device);
// out[i] = a[i] + b[i] over n contiguous elements of a floating dtype:
// autograd's gradient sums, into a fresh buffer in one pass (bf16 adds in f32
// and rounds once).
void add(void* out, const void* a, const void* b, DType dtype, int64_t n, int device);

}  // namespace loglin::cuda

// CUDA launchers of the gated RMSNorm (math in rms_norm_gated_cpu.h).
// Pointers are device memory of `device`; x, dy, y, dx, dz are contiguous
// [rows, D]; z is [rows, D] with unit inner stride and row r at
// z + r * z_row_stride; w is [D] or null, rstd [rows]. Plain C++
// declarations: rms_norm_gated_cuda.cu has the kernels, instantiated for
// float and double.
#pragma once
#include <cstdint>

namespace loglin::cuda {

// y = x * rstd * w * silu(z), saving rstd per row.
template <class T>
void rms_norm_gated_fwd(const T* x, const T* z, int64_t z_row_stride, const T* w, T* y, T* rstd, int64_t rows,
                        int64_t D, double eps, int device);

// dx, dz and dw as rms_norm_gated_bwd in rms_norm_gated_cpu.h; any may be
// null. dw_part is scratch of [norm_bwd_blocks(rows, D), D]
// (norm_cuda_plan.h), needed when dw is set.
template <class T>
void rms_norm_gated_bwd(const T* x, const T* z, int64_t z_row_stride, const T* w, const T* rstd, const T* dy, T* dx,
                        T* dz, T* dw, T* dw_part, int64_t rows, int64_t D, int device);

}  // namespace loglin::cuda

// CUDA launchers of the fused RMSNorm (math in rms_norm_cpu.h). Pointers are
// device memory of `device`; x, dy, y, dx are contiguous [rows, D]; w is [D]
// or null, rstd [rows]. Plain C++ declarations: rms_norm_cuda.cu has the
// kernels, instantiated for float and double.
#pragma once
#include <cstdint>

namespace loglin::cuda {

// y = x * rstd * w, saving rstd per row.
template <class T>
void rms_norm_fwd(const T* x, const T* w, T* y, T* rstd, int64_t rows, int64_t D, double eps, int device);

// dx and dw as rms_norm_bwd in rms_norm_cpu.h; either may be null. dw_part is
// scratch of [norm_bwd_blocks(rows, D), D] (norm_cuda_plan.h), needed when dw
// is set.
template <class T>
void rms_norm_bwd(const T* x, const T* w, const T* rstd, const T* dy, T* dx, T* dw, T* dw_part, int64_t rows,
                  int64_t D, int device);

}  // namespace loglin::cuda

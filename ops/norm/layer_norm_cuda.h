// CUDA launchers of the fused LayerNorm (math in layer_norm_cpu.h). Pointers
// are device memory of `device`; x, dy, y, dx are contiguous [rows, D]; w and
// b are [D] or null; mean and rstd [rows]. Plain C++ declarations:
// layer_norm_cuda.cu has the kernels, instantiated for float and double.
#pragma once
#include <cstdint>

namespace loglin::cuda {

// y = (x - mean) * rstd * w + b, saving mean and rstd per row.
template <class T>
void layer_norm_fwd(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t D, double eps,
                    int device);

// dx, dw, db as layer_norm_bwd in layer_norm_cpu.h; any may be null. dw_part
// and db_part are scratch of [norm_bwd_blocks(rows, D), D]
// (norm_cuda_plan.h), needed when dw (db) is set.
template <class T>
void layer_norm_bwd(const T* x, const T* w, const T* mean, const T* rstd, const T* dy, T* dx, T* dw, T* db,
                    T* dw_part, T* db_part, int64_t rows, int64_t D, int device);

}  // namespace loglin::cuda

// Input checks shared by the ops; each names the op in its message.
#pragma once
#include <initializer_list>

#include "core/tensor.h"

namespace loglin {

inline void check_defined(const char* op, std::initializer_list<const Tensor*> ts) {
  for (const Tensor* t : ts) LOGLIN_CHECK(t->defined(), "[{}] an input tensor is undefined", op);
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  LOGLIN_CHECK(a.dtype() == b.dtype(), "[{}] dtypes {} and {} differ (convert one with .to())", op,
               dtype_name(a.dtype()), dtype_name(b.dtype()));
}

inline void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  LOGLIN_CHECK(a.device() == b.device(), "[{}] tensors on {} and {}: move one with .to(device)", op,
               a.device().str(), b.device().str());
}

// Ops with a CUDA path branch on this inside `#if LOGLIN_WITH_CUDA`, calling
// the plain launch functions of their <op>_cuda.h; the CPU path follows.
inline bool on_cuda(const Tensor& t) { return t.device().is_cuda(); }

// For the CPU-only parts of an op.
inline void check_cpu(const char* op, const Tensor& t) {
  LOGLIN_CHECK(t.device().is_cpu(), "[{}] has no CUDA path for tensors on {}: move them with .to(Device::cpu())", op,
               t.device().str());
}

inline void check_dim(const char* op, const Tensor& t, int64_t ndim, const char* what) {
  LOGLIN_CHECK(t.dim() == ndim, "[{}] {} must have {} dims, got shape {}", op, what, ndim, shape_str(t.shape()));
}

}  // namespace loglin

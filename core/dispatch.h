// Runs a templated lambda for the C++ type of a runtime dtype:
//   dispatch_float(x, "softmax", [&]<class T>() { kernel<T>(...); });
// Kernels compute in f32 and f64 (f64 is for gradcheck); an op that takes
// bf16 converts it first (ops/bf16_through_f32.h), so a bf16 tensor here is
// an error naming the op. Pass the tensor rather than its dtype where there
// is one: the error then names the tensor's dtype and device as they are.
#pragma once
#include <utility>

#include "core/dtype.h"
#include "core/error.h"
#include "core/tensor.h"

namespace loglin {

template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    default:
      LOGLIN_FAIL("[{}] needs an f32 or f64 tensor, got {}{}", op, dtype_name(t),
                  t == DType::bf16 ? " (this op computes in f32 or f64 only: convert with .to(DType::f32))" : "");
  }
}

template <class F>
decltype(auto) dispatch_float(const Tensor& t, const char* op, F&& f) {
  const DType d = t.dtype();
  LOGLIN_CHECK(d == DType::f32 || d == DType::f64, "[{}] needs an f32 or f64 tensor, got {} on {}{}", op,
               dtype_name(d), t.device().str(),
               d == DType::bf16 ? " (this op computes in f32 or f64 only: convert with .to(DType::f32))" : "");
  return dispatch_float(d, op, std::forward<F>(f));
}

template <class F>
decltype(auto) dispatch_index(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::i32: return f.template operator()<int32_t>();
    case DType::i64: return f.template operator()<int64_t>();
    default: LOGLIN_FAIL("[{}] needs an integer (i32 or i64) tensor, got {}", op, dtype_name(t));
  }
}

template <class F>
decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::bf16: return f.template operator()<bf16>();
    case DType::i32: return f.template operator()<int32_t>();
    case DType::i64: return f.template operator()<int64_t>();
  }
  LOGLIN_FAIL("[dispatch] bad dtype");
}

}  // namespace loglin

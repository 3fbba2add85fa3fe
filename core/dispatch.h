// Runs a templated lambda for the C++ type of a runtime dtype:
//   dispatch_float(t.dtype(), "softmax", [&]<class T>() { kernel<T>(...); });
// Kernels compute in f32 and f64 (f64 is for gradcheck); bf16 is converted
// by the caller, so a bf16 tensor here is an error naming the op.
#pragma once
#include "core/dtype.h"
#include "core/error.h"

namespace loglin {

template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    default:
      LOGLIN_FAIL("[{}] needs an f32 or f64 tensor on the cpu, got {}{}", op, dtype_name(t),
                  t == DType::bf16 ? " (bf16 is storage-only on the cpu: convert with .to(DType::f32))" : "");
  }
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

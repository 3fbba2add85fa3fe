// bf16 in the ops that compute in f32 (elementwise ops, reductions,
// cross-entropy), on the CPU and on CUDA alike: the op runs in f32 between
// two differentiable casts, f(x.to(f32)).to(bf16), as libtorch computes
// bf16 tensors (f32 arithmetic, one rounding to bf16 at the end). The
// backward is the casts' and the f32 op's, so no kernel needs a bf16 form.
// The price is the casts' memory traffic (two extra passes over the data);
// a kernel that loads and stores bf16 itself is worth writing where a
// profile asks for it.
//
//   Tensor mul(const Tensor& a, const Tensor& b) {
//     if (via_f32::both_bf16(a, b))
//       return via_f32::through_f32(mul(via_f32::as_f32(a), via_f32::as_f32(b)));
//     ...
#pragma once
#include "core/tensor.h"

namespace loglin::via_f32 {

inline bool is_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16; }
// Two operands that are both bf16 (bf16 with f32 stays a dtype error).
inline bool both_bf16(const Tensor& a, const Tensor& b) { return is_bf16(a) && is_bf16(b); }
inline Tensor as_f32(const Tensor& t) { return t.to(DType::f32); }
// The f32 result of an op on bf16 inputs, rounded back to bf16.
inline Tensor through_f32(const Tensor& f32_result) { return f32_result.to(DType::bf16); }

}  // namespace loglin::via_f32

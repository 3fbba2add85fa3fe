// Mixed precision for matrix products: inside an AutocastGuard(DType::bf16),
// matmul of f32 CUDA tensors converts both operands to bf16, multiplies with
// f32 accumulation and returns f32, so everything around the products (master
// weights, norms, softmax, losses) stays f32. Its backward products run in
// bf16 as well, whatever the mode is when backward() runs. CPU tensors and
// f64 ignore autocast. The mode is per thread.
//
//   {
//     AutocastGuard autocast(DType::bf16);
//     Tensor loss = model.forward(x);   // products in bf16
//   }
//   loss.backward();
#pragma once
#include <optional>

#include "core/dtype.h"

namespace loglin {

// The compute dtype of autocast products on this thread; nullopt when off.
std::optional<DType> autocast_dtype();

// Sets the mode for its lifetime and restores the previous one; nullopt turns
// autocast off inside an outer guard. Only bf16 is a valid compute dtype.
class AutocastGuard {
 public:
  explicit AutocastGuard(std::optional<DType> dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  std::optional<DType> previous_;
};

}  // namespace loglin

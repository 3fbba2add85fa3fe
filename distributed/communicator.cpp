#include "distributed/communicator.h"

#include <fmt/format.h>

namespace loglin::dist {

const char* reduce_op_name(ReduceOp op) { return op == ReduceOp::sum ? "sum" : "average"; }

std::string check_collective_tensors(const char* op, const std::vector<Tensor>& tensors) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined()) return fmt::format("[dist] {}: tensor {} is undefined", op, i);
    if (t.dtype() != DType::f32 && t.dtype() != DType::f64)
      return fmt::format("[dist] {}: tensor {} is {}; collectives take f32 or f64", op, i, dtype_name(t.dtype()));
    if (!t.is_contiguous())
      return fmt::format("[dist] {}: tensor {} of shape {} is not contiguous; pass .contiguous() or a flat buffer", op,
                         i, shape_str(t.shape()));
  }
  return "";
}

}  // namespace loglin::dist

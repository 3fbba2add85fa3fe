#include "nn/layers/dropout.h"

#include "ops/ops.h"

namespace loglin::nn {

Dropout::Dropout(double p_, Generator& gen) : p(p_), gen_(&gen) {
  LOGLIN_CHECK(p >= 0 && p < 1, "[Dropout] p must be in [0, 1), got {}", p);
}

Tensor Dropout::forward(const Tensor& x) const { return dropout(x, p, is_training(), *gen_); }

}  // namespace loglin::nn

// causal_conv1d's CUDA versions (causal_conv1d_versions.h).
#include "ops/conv1d/causal_conv1d_versions.h"

#if LOGLIN_WITH_CUDA
#include "ops/conv1d/causal_conv1d_cuda.h"
#endif

namespace loglin {
namespace {

#if LOGLIN_WITH_CUDA
bool v1_takes(const CausalConv1dCall&) { return true; }
bool v2_takes(const CausalConv1dCall& c) { return cuda::causal_conv1d_v2_takes(c.W, c.rows); }
#endif

}  // namespace

const std::vector<CausalConv1dVersion>& causal_conv1d_versions() {
  static const std::vector<CausalConv1dVersion> all = {
#if LOGLIN_WITH_CUDA
      {"v2", "taps in registers, fused one-pass backward; W <= 8", 2, true, v2_takes},
      {"v1", "one channel per thread, taps from memory; any W", 1, true, v1_takes},
#endif
  };
  return all;
}

}  // namespace loglin

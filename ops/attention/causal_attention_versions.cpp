// causal_attention's CUDA versions (causal_attention_versions.h).
#include "ops/attention/causal_attention_versions.h"

#if LOGLIN_WITH_CUDA
#include "ops/attention/causal_attention_cuda.h"
#endif

namespace loglin {
namespace {

#if LOGLIN_WITH_CUDA
bool simt_takes(const CausalAttentionCall& c) {
  return c.dtype == DType::f32 || c.dtype == DType::f64 || c.dtype == DType::bf16;
}

bool tensor_core_takes(const CausalAttentionCall& c) {
  return c.dtype == DType::bf16 && cuda::causal_attention_fwd_tc_supported(c.D, c.device);
}
#endif

}  // namespace

const std::vector<CausalAttentionVersion>& causal_attention_versions() {
  static const std::vector<CausalAttentionVersion> all = {
#if LOGLIN_WITH_CUDA
      {"tensor_core", "WMMA bf16 forward and backward, f32 accumulation; bf16, head dim 64 or 128", 2, true, true,
       tensor_core_takes},
      {"simt", "SIMT forward and backward; f32, f64, bf16, any head dim", 1, true, false, simt_takes},
#endif
  };
  return all;
}

}  // namespace loglin

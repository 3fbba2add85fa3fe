#include "ops/conv1d/document_positions.h"

#include "ops/chunk_layout/checks.h"

namespace loglin {

std::vector<int64_t> conv1d_document_positions(const Tensor& cu_seqlens, int64_t B, int64_t T) {
  const std::vector<int64_t> cu = lla::read_cu_seqlens("causal_conv1d", cu_seqlens, B, T);
  std::vector<int64_t> pos(static_cast<size_t>(T));
  for (size_t d = 0; d + 1 < cu.size(); ++d)
    for (int64_t r = cu[d]; r < cu[d + 1]; ++r) pos[r] = r - cu[d];
  return pos;
}

}  // namespace loglin

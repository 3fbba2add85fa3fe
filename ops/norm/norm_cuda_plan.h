// How the CUDA backward of rms_norm and layer_norm splits its rows, shared by
// the .cpp (which allocates the scratch) and the .cu (which fills it).
// Plain C++: no CUDA types.
#pragma once
#include <algorithm>
#include <cstdint>

namespace loglin::cuda {

// Each backward block sums dweight (and dbias) over its rows into its own row
// of a [blocks, D] scratch; a second kernel sums the scratch's columns in
// block order. The count depends on rows and D only, never on the GPU, so the
// parameter gradients are bitwise the same from run to run and GPU to GPU.
// The cap on blocks * D bounds the scratch (32 MiB in f64).
inline int64_t norm_bwd_blocks(int64_t rows, int64_t D) {
  const int64_t by_size = std::max<int64_t>(1, (int64_t{1} << 22) / std::max<int64_t>(D, 1));
  return std::min({rows, int64_t{1024}, by_size});
}

}  // namespace loglin::cuda

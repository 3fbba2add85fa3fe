// A shape and element strides in a fixed-size struct that can be passed to a
// CUDA kernel by value. Plain C++ (no CUDA types): built on the .cpp side,
// read in .cu files.
#pragma once
#include <cstdint>
#include <vector>

#include "core/error.h"

namespace loglin {

constexpr int kMaxStridedDims = 8;

struct StridedLayout {
  int ndim = 0;
  int64_t shape[kMaxStridedDims] = {};
  int64_t strides[kMaxStridedDims] = {};
};

// Layouts for several operands over one iteration shape, with size-1 dims
// dropped and dims merged where every operand is contiguous across them (so a
// plain contiguous tensor becomes one dim). strides[k] are operand k's element
// strides over `shape` (broadcast dims have stride 0).
inline std::vector<StridedLayout> merged_layouts(const std::vector<int64_t>& shape,
                                                 const std::vector<std::vector<int64_t>>& strides,
                                                 const char* op) {
  const size_t n_ops = strides.size();
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> st(n_ops);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !dims.empty();
    for (size_t k = 0; k < n_ops && merge; ++k) merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      dims.back() *= shape[d];
      for (size_t k = 0; k < n_ops; ++k) st[k].back() = strides[k][d];
    } else {
      dims.push_back(shape[d]);
      for (size_t k = 0; k < n_ops; ++k) st[k].push_back(strides[k][d]);
    }
  }
  LOGLIN_CHECK(dims.size() <= static_cast<size_t>(kMaxStridedDims),
               "[{}] tensors with more than {} non-mergeable dims are not supported on cuda", op, kMaxStridedDims);
  std::vector<StridedLayout> out(n_ops);
  for (size_t k = 0; k < n_ops; ++k) {
    out[k].ndim = static_cast<int>(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
      out[k].shape[d] = dims[d];
      out[k].strides[d] = st[k][d];
    }
  }
  return out;
}

}  // namespace loglin

// How the CPU norms (rms_norm, rms_norm_gated, layer_norm) split their rows
// among threads, the fixed-order sum of their parameter gradients, and the
// row rstd of both RMSNorms.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace loglin::cpu::norm {

// Below this many elements, waking the OpenMP team costs more than it saves.
constexpr int64_t kGrain = 1 << 15;

// The backward sums each parameter gradient per block of rows into its row of
// a [blocks, D] scratch in double, then over the blocks in order: the split
// depends on `rows` only, never on the thread count, so the result does not
// either. Block blk owns rows [block_begin(blk), block_begin(blk + 1)).
struct RowBlocks {
  int64_t rows, blocks;
  explicit RowBlocks(int64_t rows) : rows(rows), blocks(std::min<int64_t>(rows, 64)) {}
  int64_t block_begin(int64_t blk) const { return rows * blk / blocks; }
};

// out[j] = sum over blk < blocks of part[blk * D + j], in block order.
template <class T>
void sum_block_parts(const std::vector<double>& part, int64_t blocks, int64_t D, T* out) {
  for (int64_t j = 0; j < D; ++j) {
    double s = 0;
    for (int64_t blk = 0; blk < blocks; ++blk) s += part[blk * D + j];
    out[j] = static_cast<T>(s);
  }
}

// 1 / sqrt(mean(xr^2) + eps) over a row of D, the squares summed in double
// (squares of large f32 values overflow f32).
template <class T>
T row_rstd(const T* xr, int64_t D, double eps) {
  double ss = 0;
  for (int64_t j = 0; j < D; ++j) ss += static_cast<double>(xr[j]) * xr[j];
  return static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
}

}  // namespace loglin::cpu::norm

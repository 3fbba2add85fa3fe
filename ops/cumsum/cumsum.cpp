#include "ops/cumsum/cumsum.h"

#include <algorithm>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/cumsum/cumsum_cuda.h"
#endif

namespace loglin {
namespace {

// Columns of the [outer, n, inner] layout are summed in blocks of this many
// adjacent inner elements, so each step along `dim` reads one contiguous run.
constexpr int64_t kBlock = 64;

// x is contiguous and viewed as [outer, n, inner]; the scan runs along n.
template <class T>
void cumsum_cpu(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  const int64_t blocks_per_row = (inner + kBlock - 1) / kBlock;
  const int64_t blocks = outer * blocks_per_row;
#pragma omp parallel for if (outer * n * inner > (1 << 15))
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t o = blk / blocks_per_row;
    const int64_t i0 = (blk % blocks_per_row) * kBlock;
    const int64_t w = std::min(kBlock, inner - i0);
    // f32 running sums drift over long scans; double keeps them exact enough.
    double acc[kBlock] = {};
    for (int64_t s = 0; s < n; ++s) {
      const int64_t k = reverse ? n - 1 - s : s;
      const int64_t base = (o * n + k) * inner + i0;
      for (int64_t j = 0; j < w; ++j) {
        acc[j] += x[base + j];
        out[base + j] = static_cast<T>(acc[j]);
      }
    }
  }
}

}  // namespace

// x has any shape; out has x's shape. dim may be negative; a 0-dim x is one element.
Tensor cumsum(const Tensor& x, int64_t dim, bool reverse) {
  check_defined("cumsum", {&x});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(cumsum(via_f32::as_f32(x), dim, reverse));
  const int64_t d = normalize_dim(dim, std::max<int64_t>(x.dim(), 1), "cumsum");
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t k = 0; k < x.dim(); ++k) (k < d ? outer : k == d ? n : inner) *= x.shape()[k];

  Tensor xc = x.is_contiguous() ? x : core::contiguous_copy(x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x, "cumsum", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(x)) {
      cuda::cumsum<T>(xc.data<T>(), out.data<T>(), outer, n, inner, reverse, x.device().index);
      return;
    }
#endif
    cumsum_cpu<T>(xc.data<T>(), out.data<T>(), outer, n, inner, reverse);
  });
  // The transpose of a forward scan is the reverse scan of the gradient.
  autograd::record("cumsum", {x}, {out}, [d, reverse](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{cumsum(ctx.grads[0], d, !reverse)};
  });
  return out;
}

}  // namespace loglin

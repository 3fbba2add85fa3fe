#include "ops/rotary/rotary.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/strided_layout.h"
#include "ops/op_checks.h"
#include "ops/rotary/rotary_math.h"

#if LOGLIN_WITH_CUDA
#include "ops/rotary/rotary_cuda.h"
#endif

namespace loglin {
namespace {

constexpr const char* kOp = "rotary_embedding";

// out = rotate(x) (or its inverse), contiguous, for x of any strides.
Tensor rotate_all(const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse) {
  const int64_t D = x.size(-1), T_len = x.size(-2), half = D / 2, rows = x.numel() / std::max<int64_t>(D, 1);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  if (on_cuda(x)) {
#if LOGLIN_WITH_CUDA
    Shape row_shape(x.shape().begin(), x.shape().end() - 1), row_strides(x.strides().begin(), x.strides().end() - 1);
    const StridedLayout rows_layout = merged_layouts(row_shape, {row_strides}, kOp)[0];
    dispatch_float(x, kOp, [&]<class T>() {
      cuda::rotary<T>(x.data<T>(), rows_layout, x.strides().back(), cos.data<T>(), sin.data<T>(), out.data<T>(), rows,
                      T_len, D, inverse, x.device().index);
    });
    return out;
#endif
  }
  const Tensor xc = x.contiguous();
  dispatch_float(x, kOp, [&]<class S>() {
    const S* px = xc.data<S>();
    const S* pc = cos.data<S>();
    const S* ps = sin.data<S>();
    S* po = out.data<S>();
#pragma omp parallel for if (rows * D > (1 << 15))
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t t = r % T_len;
      for (int64_t i = 0; i < half; ++i) {
        const S c = pc[t * half + i], s = inverse ? -ps[t * half + i] : ps[t * half + i];
        rotary::rotate(px[r * D + i], px[r * D + half + i], c, s, po[r * D + i], po[r * D + half + i]);
      }
    }
  });
  return out;
}

}  // namespace

Tensor rotary_embedding(const Tensor& x, const Tensor& cos, const Tensor& sin) {
  check_defined(kOp, {&x, &cos, &sin});
  LOGLIN_CHECK(x.dim() >= 2, "[{}] x must be [..., T, D], got shape {}", kOp, shape_str(x.shape()));
  const int64_t T = x.size(-2), D = x.size(-1);
  LOGLIN_CHECK(D % 2 == 0, "[{}] the last dim D must be even to split into halves, got {}", kOp, D);
  for (const Tensor* t : {&cos, &sin})
    LOGLIN_CHECK(t->shape() == Shape({T, D / 2}), "[{}] cos and sin must be [T, D/2] = [{}, {}], got {}", kOp, T,
                 D / 2, shape_str(t->shape()));
  check_same_device(kOp, x, cos);
  check_same_device(kOp, x, sin);
  // The tables follow x's dtype and are read contiguously.
  const Tensor c = cos.detach().to(x.dtype()).contiguous(), s = sin.detach().to(x.dtype()).contiguous();
  Tensor out = rotate_all(x, c, s, false);
  autograd::record(kOp, {x}, {out}, [c, s](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{rotate_all(ctx.grads[0], c, s, true)};
  });
  return out;
}

}  // namespace loglin

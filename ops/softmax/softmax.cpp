// softmax / log_softmax: x is any shape, the op runs along `dim`. The kernels
// (softmax_cpu.cpp) read x as [outer, C, inner], so no dim is moved and no
// transposing copy is made. Backward uses only the saved output:
//   softmax:     dx = y * (g - sum(g * y))
//   log_softmax: dx = g - exp(y) * sum(g)
#include "ops/softmax/softmax.h"

#include <algorithm>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/kernel_args.h"
#include "ops/op_checks.h"
#include "ops/softmax/softmax_cpu.h"
#if LOGLIN_WITH_CUDA
#include "ops/softmax/softmax_cuda.h"
#endif

namespace loglin {
namespace {

struct SoftmaxLayout {
  int64_t outer = 1, C = 1, inner = 1;
};

SoftmaxLayout layout_of(const Shape& shape, int64_t d) {
  SoftmaxLayout l;
  for (int64_t i = 0; i < static_cast<int64_t>(shape.size()); ++i) {
    if (i < d) l.outer *= shape[i];
    else if (i == d) l.C = shape[i];
    else l.inner *= shape[i];
  }
  return l;
}

Tensor softmax_op(const char* op, const Tensor& x, int64_t dim, bool log) {
  check_defined(op, {&x});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(softmax_op(op, via_f32::as_f32(x), dim, log));
  // A 0-dim tensor is a softmax over one element, as dim 0 or -1.
  const int64_t d = normalize_dim(dim, std::max<int64_t>(x.dim(), 1), op);
  const SoftmaxLayout l = layout_of(x.shape(), d);
  Tensor y = dispatch_float(x, op, [&]<class T>() {
    Tensor xc = dense(x, x.dtype());
    Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
#if LOGLIN_WITH_CUDA
    if (on_cuda(x)) {
      cuda::softmax_fwd<T>(xc.data<T>(), out.data<T>(), l.outer, l.C, l.inner, log, x.device().index);
      return out;
    }
#endif
    cpu::softmax_fwd<T>(xc.data<T>(), out.data<T>(), l.outer, l.C, l.inner, log);
    return out;
  });
  autograd::record(op, {x}, {y}, [op, l, log, y = y.detach()](autograd::BackwardContext& ctx) {
    Tensor g = dense(ctx.grads[0], y.dtype());
    Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
    dispatch_float(y, op, [&]<class T>() {
#if LOGLIN_WITH_CUDA
      if (on_cuda(y)) {
        cuda::softmax_bwd<T>(y.data<T>(), g.data<T>(), dx.data<T>(), l.outer, l.C, l.inner, log, y.device().index);
        return;
      }
#endif
      cpu::softmax_bwd<T>(y.data<T>(), g.data<T>(), dx.data<T>(), l.outer, l.C, l.inner, log);
    });
    return std::vector<Tensor>{dx};
  });
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", x, dim, false); }

Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", x, dim, true); }

}  // namespace loglin

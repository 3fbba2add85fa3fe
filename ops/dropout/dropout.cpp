#include "ops/dropout/dropout.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/elementwise/elementwise_cpu.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

// A tensor shaped like x holding 0 (dropped) or 1/(1-p) (kept). Drawn
// serially in row-major order so a seed gives the same mask with any thread
// count. p == 1 drops everything.
Tensor dropout_mask(const Tensor& x, double p, Generator& gen) {
  Tensor mask = Tensor::empty(x.shape(), x.dtype());
  const double scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
  dispatch_float(x.dtype(), "dropout", [&]<class T>() {
    T* m = mask.data<T>();
    const T keep = static_cast<T>(scale);
    for (int64_t i = 0, n = mask.numel(); i < n; ++i) m[i] = gen.uniform() < p ? T(0) : keep;
  });
  return mask;
}

// a * mask for a mask of a's shape (contiguous, no history).
Tensor mul_raw(const Tensor& a, const Tensor& mask) {
  return dispatch_float(a.dtype(), "dropout", [&]<class T>() {
    return cpu::map_binary<T>(a, mask, a.shape(), [](T v, T m) { return v * m; });
  });
}

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  check_defined("dropout", {&x});
  check_cpu("dropout", x);
  LOGLIN_CHECK(p >= 0.0 && p <= 1.0, "[dropout] p must be in [0, 1], got {}", p);
  if (!training || p == 0.0) return x;
  Tensor mask = dropout_mask(x, p, gen);
  Tensor out = mul_raw(x, mask);
  autograd::record("dropout", {x}, {out}, [mask](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{mul_raw(ctx.grads[0], mask)};
  });
  return out;
}

}  // namespace loglin

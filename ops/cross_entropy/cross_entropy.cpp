// Fused cross-entropy. logits [..., C] is read as [rows, C], targets [...] as
// [rows]. Forward saves one log-sum-exp per row (f64, see the kernel) and
// the number of counted rows; backward rebuilds softmax from it, so there is
// no separate log_softmax tensor in either direction.
#include "ops/cross_entropy/cross_entropy.h"

#include <vector>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/cross_entropy/cross_entropy_cpu.h"
#include "ops/kernel_args.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/cross_entropy/cross_entropy_cuda.h"
#endif

namespace loglin {
namespace {

// Checked up front, serially, so the parallel kernel never has to throw.
template <class I>
void check_targets(const I* t, int64_t rows, int64_t C, int64_t ignore_index) {
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t v = static_cast<int64_t>(t[r]);
    LOGLIN_CHECK(v == ignore_index || (v >= 0 && v < C),
                 "[cross_entropy] target {} out of range for {} classes (row {})", v, C, r);
  }
}

#if LOGLIN_WITH_CUDA
// The device path: the loss, the per-row lse and the count of counted rows
// never leave the device, and the backward reads the loss gradient there too,
// so neither direction synchronises with the host. Targets are not checked
// (see cross_entropy_cuda.h: an out-of-range target gives a NaN loss).
Tensor cross_entropy_cuda(const Tensor& logits, const Tensor& targets, int64_t rows, int64_t C,
                          int64_t ignore_index) {
  const Device dev = logits.device();
  Tensor x = dense(logits, logits.dtype());
  Tensor t = dense(targets, targets.dtype());
  Tensor lse = Tensor::empty({rows}, DType::f64, dev);
  Tensor count = Tensor::empty({}, DType::f64, dev);
  Tensor loss = Tensor::empty({}, logits.dtype(), dev);
  dispatch_float(x, "cross_entropy", [&]<class T>() {
    dispatch_index(t.dtype(), "cross_entropy", [&]<class I>() {
      cuda::cross_entropy_fwd<T, I>(x.data<T>(), t.data<I>(), rows, C, ignore_index, lse.data<double>(),
                                    loss.data<T>(), count.data<double>(), dev.index);
    });
  });
  autograd::record("cross_entropy", {logits, targets}, {loss},
                   [x = x.detach(), t = t.detach(), lse, count, rows, C, ignore_index](autograd::BackwardContext& ctx) {
                     Tensor dx;
                     if (ctx.needs(0)) {
                       dx = Tensor::empty(x.shape(), x.dtype(), x.device());
                       Tensor g = dense(ctx.grads[0], x.dtype());
                       dispatch_float(x, "cross_entropy", [&]<class T>() {
                         dispatch_index(t.dtype(), "cross_entropy", [&]<class I>() {
                           cuda::cross_entropy_bwd<T, I>(x.data<T>(), t.data<I>(), lse.data<double>(), g.data<T>(),
                                                         count.data<double>(), rows, C, ignore_index, dx.data<T>(),
                                                         x.device().index);
                         });
                       });
                     }
                     return std::vector<Tensor>{dx, Tensor()};
                   });
  return loss;
}
#endif

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  check_defined("cross_entropy", {&logits, &targets});
  check_same_device("cross_entropy", logits, targets);
  LOGLIN_CHECK(logits.dim() >= 1, "[cross_entropy] logits must have at least 1 dim (the classes), got shape {}",
               shape_str(logits.shape()));
  const Shape row_shape(logits.shape().begin(), logits.shape().end() - 1);
  LOGLIN_CHECK(targets.shape() == row_shape,
               "[cross_entropy] targets have shape {}, expected {} (logits {} without the class dim)",
               shape_str(targets.shape()), shape_str(row_shape), shape_str(logits.shape()));
  const int64_t C = logits.shape().back();
  const int64_t rows = shape_numel(row_shape);
  LOGLIN_CHECK(C > 0 || rows == 0, "[cross_entropy] logits of shape {} have no classes", shape_str(logits.shape()));
  // bf16 logits: the loss in f32 (the kernels accumulate in f64), returned as bf16 as libtorch does.
  if (via_f32::is_bf16(logits)) return via_f32::through_f32(cross_entropy(via_f32::as_f32(logits), targets, ignore_index));
#if LOGLIN_WITH_CUDA
  if (on_cuda(logits)) return cross_entropy_cuda(logits, targets, rows, C, ignore_index);
#endif
  check_cpu("cross_entropy", logits);

  Tensor x = dense(logits, logits.dtype());
  Tensor t = dense(targets, targets.dtype());
  Tensor lse = Tensor::empty({rows}, DType::f64);
  double total = 0;
  int64_t count = 0;
  dispatch_float(x, "cross_entropy", [&]<class T>() {
    dispatch_index(t.dtype(), "cross_entropy", [&]<class I>() {
      const I* tp = t.data<I>();
      check_targets(tp, rows, C, ignore_index);
      std::vector<double> row_loss(static_cast<size_t>(rows));
      cpu::cross_entropy_fwd<T, I>(x.data<T>(), tp, rows, C, ignore_index, lse.data<double>(), row_loss.data());
      // Summed serially, in row order, so the loss does not depend on the thread count.
      for (int64_t r = 0; r < rows; ++r) {
        if (static_cast<int64_t>(tp[r]) == ignore_index) continue;
        total += row_loss[r];
        ++count;
      }
    });
  });
  Tensor loss = Tensor::scalar(count > 0 ? total / static_cast<double>(count) : 0.0, logits.dtype());

  autograd::record("cross_entropy", {logits, targets}, {loss},
                   [x = x.detach(), t = t.detach(), lse, rows, C, count, ignore_index](autograd::BackwardContext& ctx) {
                     Tensor dx;
                     if (ctx.needs(0)) {
                       dx = Tensor::empty(x.shape(), x.dtype());
                       const double g = ctx.grads[0].item();
                       const double scale = count > 0 ? g / static_cast<double>(count) : 0.0;
                       dispatch_float(x, "cross_entropy", [&]<class T>() {
                         dispatch_index(t.dtype(), "cross_entropy", [&]<class I>() {
                           cpu::cross_entropy_bwd<T, I>(x.data<T>(), t.data<I>(), lse.data<double>(), rows, C,
                                                        ignore_index, scale, dx.data<T>());
                         });
                       });
                     }
                     return std::vector<Tensor>{dx, Tensor()};
                   });
  return loss;
}

}  // namespace loglin

#include "ops/matmul/matmul.h"

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/matmul/matmul_cpu.h"
#include "ops/op_checks.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/view_ops.h"

namespace loglin {
namespace {

// a [..., M, K] @ b [..., K, N] with both at least 2-D.
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  LOGLIN_CHECK(b.size(-2) == K, "[matmul] inner dims {} and {} differ (shapes {} and {})", K, b.size(-2),
               shape_str(a.shape()), shape_str(b.shape()));
  Shape batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(M);
  out_shape.push_back(N);
  Tensor out = Tensor::empty(out_shape, a.dtype());
  const int64_t nb = shape_numel(batch);
  Shape sa = broadcast_strides(batch_a, Shape(a.strides().begin(), a.strides().end() - 2), batch);
  Shape sb = broadcast_strides(batch_b, Shape(b.strides().begin(), b.strides().end() - 2), batch);
  dispatch_float(a.dtype(), "matmul", [&]<class T>() {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    auto run = [&](int64_t i) {
      int64_t oa = 0, ob = 0, rem = i;
      for (int64_t d = static_cast<int64_t>(batch.size()) - 1; d >= 0; --d) {
        int64_t idx = rem % batch[d];
        rem /= batch[d];
        oa += idx * sa[d];
        ob += idx * sb[d];
      }
      cpu::gemm<T>({pa + oa, M, K, a.strides()[a.dim() - 2], a.strides()[a.dim() - 1]},
                   {pb + ob, K, N, b.strides()[b.dim() - 2], b.strides()[b.dim() - 1]},
                   {po + i * M * N, M, N, N, 1});
    };
    // Many small products: one per thread. Few large ones: Eigen threads each.
    if (nb > 1 && M * N * K < (1 << 21)) {
#pragma omp parallel for
      for (int64_t i = 0; i < nb; ++i) run(i);
    } else {
      for (int64_t i = 0; i < nb; ++i) run(i);
    }
  });
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_defined("matmul", {&a, &b});
  check_same_dtype("matmul", a, b);
  check_same_device("matmul", a, b);
  check_cpu("matmul", a);
  LOGLIN_CHECK(a.dim() >= 1 && b.dim() >= 1, "[matmul] operands must have at least 1 dim, got shapes {} and {}",
               shape_str(a.shape()), shape_str(b.shape()));
  // Vectors become matrices for the product, then lose the added dim.
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), b.dim() == 1 ? -1 : -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  Tensor out = batched_matmul(a, b);
  autograd::record("matmul", {a, b}, {out}, [a = a.detach(), b = b.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    Tensor da, db;
    if (ctx.needs(0)) da = sum_to_shape(batched_matmul(g, transpose(b, -1, -2)), a.shape());
    if (ctx.needs(1)) db = sum_to_shape(batched_matmul(transpose(a, -1, -2), g), b.shape());
    return std::vector<Tensor>{da, db};
  });
  return out;
}

}  // namespace loglin

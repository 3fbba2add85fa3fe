#include "ops/matmul/matmul.h"

#include <optional>
#include <utility>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/autocast.h"
#include "ops/matmul/matmul_cpu.h"
#include "ops/op_checks.h"
#include "ops/precision.h"
#include "ops/reduce/reduce.h"
#include "ops/shape/view_ops.h"
#if LOGLIN_WITH_CUDA
#include "core/strided_layout.h"
#include "ops/matmul/matmul_cuda.h"
#endif

namespace loglin {
namespace {

// The geometry both backends share: a [..., M, K] @ b [..., K, N].
struct Product {
  int64_t M, K, N;
  Shape batch_a, batch_b, batch, out_shape;
};

Product plan(const Tensor& a, const Tensor& b) {
  Product p;
  p.M = a.size(-2), p.K = a.size(-1), p.N = b.size(-1);
  LOGLIN_CHECK(b.size(-2) == p.K, "[matmul] inner dims {} and {} differ (shapes {} and {})", p.K, b.size(-2),
               shape_str(a.shape()), shape_str(b.shape()));
  p.batch_a = Shape(a.shape().begin(), a.shape().end() - 2);
  p.batch_b = Shape(b.shape().begin(), b.shape().end() - 2);
  p.batch = broadcast_shapes(p.batch_a, p.batch_b, "matmul");
  p.out_shape = p.batch;
  p.out_shape.push_back(p.M);
  p.out_shape.push_back(p.N);
  return p;
}

// Strides of t's batch dims over the broadcast batch shape (0 where broadcast).
Shape batch_strides(const Tensor& t, const Shape& own_batch, const Shape& batch) {
  return broadcast_strides(own_batch, Shape(t.strides().begin(), t.strides().end() - 2), batch);
}

Tensor cpu_batched_matmul(const Tensor& a, const Tensor& b, const Product& p) {
  const int64_t M = p.M, K = p.K, N = p.N;
  Tensor out = Tensor::empty(p.out_shape, a.dtype());
  const int64_t nb = shape_numel(p.batch);
  const Shape& batch = p.batch;
  Shape sa = batch_strides(a, p.batch_a, batch), sb = batch_strides(b, p.batch_b, batch);
  dispatch_float(a, "matmul", [&]<class T>() {
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

#if LOGLIN_WITH_CUDA
// t's last two dims as cuBLAS can read them in place, or nullopt when they
// are neither row- nor column-major (then the caller packs t). A dim of size
// 1 has no meaningful stride, so it never disqualifies a layout.
std::optional<cuda::GemmOperand> as_operand(const Tensor& t) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const int64_t rs = t.strides()[t.dim() - 2], cs = t.strides()[t.dim() - 1];
  cuda::GemmOperand op;
  op.data = t.raw_data();
  if ((cols == 1 || cs == 1) && (rows == 1 || rs >= cols)) {
    op.col_major = false;
    op.ld = rows == 1 ? cols : rs;
    return op;
  }
  if ((rows == 1 || rs == 1) && (cols == 1 || cs >= rows)) {
    op.col_major = true;
    op.ld = cols == 1 ? rows : cs;
    return op;
  }
  return std::nullopt;
}

// t with its last two dims swapped (a view).
Tensor swap_last_two(const Tensor& t) {
  Shape shape = t.shape(), strides = t.strides();
  const size_t n = shape.size();
  std::swap(shape[n - 2], shape[n - 1]);
  std::swap(strides[n - 2], strides[n - 1]);
  return core::as_strided(t, shape, strides, t.offset());
}

// t converted to `dtype` for an autocast product. A transposed view of a
// contiguous tensor (W^T, k^T) is converted in its own order and handed over
// as a transpose again, so the conversion reads and writes contiguously.
Tensor converted(const Tensor& t, DType dtype) {
  if (!t.is_contiguous()) {
    Tensor tt = swap_last_two(t);
    if (tt.is_contiguous()) return swap_last_two(core::contiguous_copy(tt, dtype));
  }
  return core::contiguous_copy(t, dtype);
}

cuda::GemmOperand operand_packing_if_needed(Tensor& t) {
  if (auto op = as_operand(t)) return *op;
  t = core::contiguous_copy(t);
  return *as_operand(t);
}

// The batch runs as strided-batched cuBLAS calls over its innermost dim (after
// merging the dims every operand steps through evenly), one call per index of
// the outer dims; usually that is a single call.
Tensor cuda_batched_matmul(Tensor a, Tensor b, const Product& p, std::optional<DType> compute,
                           std::optional<DType> out_as) {
  const int64_t M = p.M, K = p.K, N = p.N;
  DType in = a.dtype(), out_dtype = out_as.value_or(a.dtype());
  LOGLIN_CHECK(in == DType::f32 || in == DType::f64 || in == DType::bf16,
               "[matmul] needs f32, f64 or bf16 tensors on cuda, got {}", dtype_name(in));
  if (compute && in == DType::f32) {
    in = *compute;
    a = converted(a, in);
    b = converted(b, in);
  }
  Tensor out = Tensor::empty(p.out_shape, out_dtype, a.device());
  if (out.numel() == 0) return out;
  if (K == 0) {
    core::fill(out, 0);
    return out;
  }
  cuda::GemmArgs g;
  g.M = M, g.N = N, g.K = K;
  g.in = in, g.out = out_dtype;
  g.allow_tf32 = float32_matmul_allows_tf32();
  g.a = operand_packing_if_needed(a);
  g.b = operand_packing_if_needed(b);
  g.ldc = N;

  const Shape& batch = p.batch;
  Shape so(batch.size());
  for (int64_t d = static_cast<int64_t>(batch.size()) - 1, s = M * N; d >= 0; --d) {
    so[d] = s;
    s *= batch[d];
  }
  const std::vector<StridedLayout> L =
      merged_layouts(batch, {batch_strides(a, p.batch_a, batch), batch_strides(b, p.batch_b, batch), so}, "matmul");
  const int nd = L[0].ndim;
  if (nd > 0) {
    g.batch = L[0].shape[nd - 1];
    g.a.batch_stride = L[0].strides[nd - 1];
    g.b.batch_stride = L[1].strides[nd - 1];
    g.batch_stride_c = L[2].strides[nd - 1];
    // A shared b and a row-major a whose matrices follow each other make one
    // tall product: x [B, T, C] @ W^T is [B*T, C] @ W^T.
    if (g.b.batch_stride == 0 && !g.a.col_major && g.a.batch_stride == M * g.a.ld && g.batch_stride_c == M * N) {
      g.M = M * g.batch;
      g.batch = 1;
      g.a.batch_stride = g.batch_stride_c = 0;
    }
  }
  int64_t outer = 1;
  for (int d = 0; d + 1 < nd; ++d) outer *= L[0].shape[d];
  const char* a0 = static_cast<const char*>(g.a.data);
  const char* b0 = static_cast<const char*>(g.b.data);
  char* c0 = static_cast<char*>(out.raw_data());
  const int64_t in_size = static_cast<int64_t>(dtype_size(in)), out_size = static_cast<int64_t>(dtype_size(out_dtype));
  for (int64_t i = 0; i < outer; ++i) {
    int64_t oa = 0, ob = 0, oc = 0, rem = i;
    for (int d = nd - 2; d >= 0; --d) {
      const int64_t idx = rem % L[0].shape[d];
      rem /= L[0].shape[d];
      oa += idx * L[0].strides[d];
      ob += idx * L[1].strides[d];
      oc += idx * L[2].strides[d];
    }
    g.a.data = a0 + oa * in_size;
    g.b.data = b0 + ob * in_size;
    g.c = c0 + oc * out_size;
    cuda::gemm(g, a.device().index);
  }
  return out;
}
#endif

// a [..., M, K] @ b [..., K, N] with both at least 2-D. `compute` is the
// autocast dtype the product runs in (CUDA f32 inputs only); `out_as` the
// output dtype where it differs from the inputs' (autocast operands already
// in bf16 that give f32).
Tensor batched_matmul(const Tensor& a, const Tensor& b, std::optional<DType> compute,
                      std::optional<DType> out_as = {}) {
  Product p = plan(a, b);
  if (on_cuda(a)) {
#if LOGLIN_WITH_CUDA
    return cuda_batched_matmul(a, b, p, compute, out_as);
#endif
  }
  check_cpu("matmul", a);
  return cpu_batched_matmul(a, b, p);
}

// t [..., C] seen as [rows, C]: a view where the strides allow, else a copy.
Tensor as_rows(const Tensor& t) {
  const Shape s{t.numel() / t.size(-1), t.size(-1)};
  if (auto st = core::view_strides(t, s)) return core::as_strided(t, s, *st, t.offset());
  Tensor c = core::contiguous_copy(t);
  return core::as_strided(c, s, {s[1], 1}, c.offset());
}

// dL/da = g @ b^T, summed over a's broadcast batch dims.
Tensor matmul_grad_a(const Tensor& g, const Tensor& b, const Shape& a_shape, std::optional<DType> out_as) {
  return sum_to_shape(batched_matmul(g, transpose(b, -1, -2), {}, out_as), a_shape);
}

// dL/db = a^T @ g. A weight shared by every batch entry (x @ W) gets its
// gradient as one product over all rows, not a batch of products summed
// afterwards.
Tensor matmul_grad_b(const Tensor& a, const Tensor& g, const Shape& b_shape, std::optional<DType> out_as) {
  if (b_shape.size() == 2 && a.dim() > 2 && a.numel() > 0 && g.numel() > 0)
    return batched_matmul(transpose(as_rows(a), 0, 1), as_rows(g), {}, out_as);
  return sum_to_shape(batched_matmul(transpose(a, -1, -2), g, {}, out_as), b_shape);
}

#if LOGLIN_WITH_CUDA
// f32 operands under autocast: each is converted once; the converted copies
// (half the bytes) are what the backward keeps, and the incoming gradient is
// converted once for both of its products. Outputs and gradients are f32.
Tensor autocast_matmul(const Tensor& a, const Tensor& b, DType compute) {
  const Tensor a16 = converted(a, compute), b16 = converted(b, compute);
  Tensor out = batched_matmul(a16, b16, {}, DType::f32);
  autograd::record("matmul", {a, b}, {out},
                   [a16, b16, sa = a.shape(), sb = b.shape(), compute](autograd::BackwardContext& ctx) {
                     const Tensor g16 = converted(ctx.grads[0], compute);
                     return std::vector<Tensor>{ctx.needs(0) ? matmul_grad_a(g16, b16, sa, DType::f32) : Tensor(),
                                                ctx.needs(1) ? matmul_grad_b(a16, g16, sb, DType::f32) : Tensor()};
                   });
  return out;
}
#else
Tensor autocast_matmul(const Tensor&, const Tensor&, DType) { LOGLIN_FAIL("[matmul] autocast needs CUDA"); }
#endif

}  // namespace


Tensor matmul(const Tensor& a, const Tensor& b) {
  check_defined("matmul", {&a, &b});
  check_same_dtype("matmul", a, b);
  check_same_device("matmul", a, b);
  LOGLIN_CHECK(a.dim() >= 1 && b.dim() >= 1, "[matmul] operands must have at least 1 dim, got shapes {} and {}",
               shape_str(a.shape()), shape_str(b.shape()));
  // Vectors become matrices for the product, then lose the added dim.
  if (a.dim() == 1) return squeeze(matmul(unsqueeze(a, 0), b), b.dim() == 1 ? -1 : -2);
  if (b.dim() == 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  // Taken now, so the backward's products run as the forward's did.
  const std::optional<DType> compute =
      on_cuda(a) && a.dtype() == DType::f32 ? autocast_dtype() : std::optional<DType>();
  if (compute) return autocast_matmul(a, b, *compute);
  Tensor out = batched_matmul(a, b, compute);
  autograd::record("matmul", {a, b}, {out}, [a = a.detach(), b = b.detach()](autograd::BackwardContext& ctx) {
    const Tensor& g = ctx.grads[0];
    return std::vector<Tensor>{ctx.needs(0) ? matmul_grad_a(g, b, a.shape(), {}) : Tensor(),
                               ctx.needs(1) ? matmul_grad_b(a, g, b.shape(), {}) : Tensor()};
  });
  return out;
}

}  // namespace loglin

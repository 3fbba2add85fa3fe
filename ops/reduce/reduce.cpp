#include "ops/reduce/reduce.h"

#include <algorithm>
#include <limits>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/bf16_through_f32.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/reduce/reduce_cuda.h"
#endif

namespace loglin {
namespace {

struct ReducePlan {
  Shape kept_shape;  // output shape with keepdim
  Shape out_shape;   // output shape as requested
  std::vector<bool> reduced;
  int64_t rows = 1, cols = 1;  // after moving reduced dims last
};

ReducePlan plan_reduce(const char* op, const Tensor& x, const Shape& dims, bool keepdim) {
  ReducePlan p;
  const int64_t nd = x.dim();
  p.reduced.assign(nd, dims.empty());
  for (int64_t d : dims) {
    int64_t n = normalize_dim(d, nd, op);
    LOGLIN_CHECK(!p.reduced[n] || dims.empty(), "[{}] dim {} listed twice", op, d);
    p.reduced[n] = true;
  }
  for (int64_t i = 0; i < nd; ++i) {
    p.kept_shape.push_back(p.reduced[i] ? 1 : x.shape()[i]);
    if (!p.reduced[i]) p.out_shape.push_back(x.shape()[i]);
    else if (keepdim) p.out_shape.push_back(1);
    (p.reduced[i] ? p.cols : p.rows) *= x.shape()[i];
  }
  return p;
}

// x rearranged as a contiguous [rows, cols] matrix whose columns are the reduced dims.
Tensor reduced_last(const Tensor& x, const ReducePlan& p) {
  Shape order, shape, strides;
  for (int pass = 0; pass < 2; ++pass)
    for (int64_t i = 0; i < x.dim(); ++i)
      if (p.reduced[i] == (pass == 1)) {
        shape.push_back(x.shape()[i]);
        strides.push_back(x.strides()[i]);
      }
  Tensor v = core::as_strided(x, shape, strides, x.offset());
  return v.is_contiguous() ? v : core::contiguous_copy(v);
}

#if LOGLIN_WITH_CUDA
// Sum on the device. A contiguous x whose dims (size-1 dims dropped, equal
// neighbours merged) read [kept, reduced] is a row reduction, [reduced, kept]
// or [kept, reduced, kept] a middle one; anything else (or a strided x) is
// first copied with the reduced dims last.
Tensor sum_cuda(const Tensor& x, const ReducePlan& p, double scale) {
  Tensor out = Tensor::empty(p.out_shape, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  if (p.cols == 0) {
    core::fill(out, 0.0);
    return out;
  }
  const int dev = x.device().index;
  struct Run {
    bool reduced;
    int64_t size;
  };
  std::vector<Run> runs;
  if (x.is_contiguous()) {
    for (int64_t i = 0; i < x.dim(); ++i) {
      const int64_t n = x.shape()[i];
      if (n == 1) continue;
      if (!runs.empty() && runs.back().reduced == p.reduced[i]) runs.back().size *= n;
      else runs.push_back({p.reduced[i], n});
    }
  }
  dispatch_float(x, "sum", [&]<class T>() {
    const bool contiguous = x.is_contiguous();
    const T* in = contiguous ? x.data<T>() : nullptr;
    T* o = out.data<T>();
    if (contiguous && runs.size() == 2 && runs[0].reduced) {
      cuda::sum_middle<T>(in, o, 1, runs[0].size, runs[1].size, scale, dev);
    } else if (contiguous && runs.size() == 3 && runs[1].reduced) {
      cuda::sum_middle<T>(in, o, runs[0].size, runs[1].size, runs[2].size, scale, dev);
    } else if (contiguous && runs.size() == 1 && !runs[0].reduced) {
      // Only size-1 dims reduced: one coalesced pass (a copy times scale).
      cuda::sum_middle<T>(in, o, 1, 1, runs[0].size, scale, dev);
    } else if (contiguous && (runs.size() <= 1 || (runs.size() == 2 && runs[1].reduced))) {
      // [reduced], [kept, reduced], or a single element.
      cuda::sum_rows<T>(in, o, p.rows, p.cols, scale, dev);
    } else {
      Tensor m = reduced_last(x, p);
      cuda::sum_rows<T>(m.data<T>(), o, p.rows, p.cols, scale, dev);
    }
  });
  return out;
}
#endif

Tensor sum_raw(const Tensor& x, const ReducePlan& p, double scale) {
#if LOGLIN_WITH_CUDA
  if (on_cuda(x)) return sum_cuda(x, p, scale);
#endif
  Tensor m = reduced_last(x, p);
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  dispatch_float(x, "sum", [&]<class T>() {
    const T* in = m.data<T>();
    T* o = out.data<T>();
    const int64_t rows = p.rows, cols = p.cols;
#pragma omp parallel for if (rows * cols > (1 << 16))
    for (int64_t r = 0; r < rows; ++r) {
      // Accumulate in double: long f32 sums otherwise drift (DESIGN.md: reductions in f32 or better).
      double acc = 0;
      const T* row = in + r * cols;
      for (int64_t c = 0; c < cols; ++c) acc += row[c];
      o[r] = static_cast<T>(acc * scale);
    }
  });
  return out;
}

// g * scale in g's dtype, rounded as mul(g, scale) rounds it (x * T(scale)):
// mean's backward. reduce sits below elementwise (whose backward passes sum
// with sum_to_shape), so it scales by itself rather than call mul.
Tensor scaled(const Tensor& g, double scale) {
  Tensor in = g.is_contiguous() ? g : core::contiguous_copy(g);
  Tensor out = Tensor::empty(g.shape(), g.dtype(), g.device());
  dispatch_float(g, "mean", [&]<class T>() {
#if LOGLIN_WITH_CUDA
    if (on_cuda(g)) {
      cuda::scale<T>(in.data<T>(), out.data<T>(), out.numel(), scale, g.device().index);
      return;
    }
#endif
    const T* x = in.data<T>();
    T* o = out.data<T>();
    const T s = static_cast<T>(scale);
    const int64_t n = out.numel();
#pragma omp parallel for simd if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) o[i] = x[i] * s;
  });
  return out;
}

// Gradient of a reduction: g (shaped like the output) broadcast back to x's shape.
Tensor expand_back(const Tensor& g, const Shape& kept_shape, const Shape& in_shape) {
  return g.reshape(kept_shape).expand(in_shape);
}

// in's shape with dim d moved last (the [rows, cols] layout of max), and the
// permutation that moves it back into place.
Shape moved_last(const Shape& in, int64_t d) {
  Shape moved;
  for (int64_t i = 0; i < static_cast<int64_t>(in.size()); ++i)
    if (i != d) moved.push_back(in[i]);
  moved.push_back(in[d]);
  return moved;
}

Tensor moved_back(const Tensor& moved, int64_t d) {
  const int64_t nd = moved.dim();
  Shape perm;
  for (int64_t i = 0, k = 0; i < nd; ++i) perm.push_back(i == d ? nd - 1 : k++);
  return moved.permute(perm).contiguous();
}

#if LOGLIN_WITH_CUDA
// Max on the device; the argmax stays there for the backward scatter.
Tensor max_cuda(const Tensor& x, const ReducePlan& p, int64_t d) {
  const int dev = x.device().index;
  Tensor m = reduced_last(x, p);
  Tensor out = Tensor::empty(p.out_shape, x.dtype(), x.device());
  Tensor argmax = Tensor::empty({p.rows}, DType::i64, x.device());
  dispatch_float(x, "max", [&]<class T>() {
    cuda::max_rows<T>(m.data<T>(), out.data<T>(), argmax.data<int64_t>(), p.rows, p.cols, dev);
  });
  autograd::record("max", {x}, {out}, [argmax, p, in = x.shape(), d, dev](autograd::BackwardContext& ctx) {
    const Tensor& g0 = ctx.grads[0];
    Tensor g = g0.is_contiguous() ? g0 : core::contiguous_copy(g0);
    Tensor dx_moved = Tensor::zeros(moved_last(in, d), g.dtype(), g.device());
    dispatch_float(g, "max", [&]<class T>() {
      cuda::max_rows_backward<T>(g.data<T>(), argmax.data<int64_t>(), dx_moved.data<T>(), p.rows, p.cols, dev);
    });
    return std::vector<Tensor>{moved_back(dx_moved, d)};
  });
  return out;
}
#endif

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined("sum", {&x});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(sum(via_f32::as_f32(x), dims, keepdim));
  ReducePlan p = plan_reduce("sum", x, dims, keepdim);
  Tensor out = sum_raw(x, p, 1.0);
  autograd::record("sum", {x}, {out}, [kept = p.kept_shape, in = x.shape()](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{expand_back(ctx.grads[0], kept, in)};
  });
  return out;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  check_defined("mean", {&x});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(mean(via_f32::as_f32(x), dims, keepdim));
  ReducePlan p = plan_reduce("mean", x, dims, keepdim);
  LOGLIN_CHECK(p.cols > 0, "[mean] mean over an empty dimension of shape {}", shape_str(x.shape()));
  double scale = 1.0 / static_cast<double>(p.cols);
  Tensor out = sum_raw(x, p, scale);
  autograd::record("mean", {x}, {out},
                   [kept = p.kept_shape, in = x.shape(), scale](autograd::BackwardContext& ctx) {
                     return std::vector<Tensor>{expand_back(scaled(ctx.grads[0], scale), kept, in)};
                   });
  return out;
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  check_defined("max", {&x});
  if (via_f32::is_bf16(x)) return via_f32::through_f32(max(via_f32::as_f32(x), dim, keepdim));
  int64_t d = normalize_dim(dim, x.dim(), "max");
  LOGLIN_CHECK(x.shape()[d] > 0, "[max] max over an empty dim {} of shape {}", dim, shape_str(x.shape()));
  ReducePlan p = plan_reduce("max", x, {d}, keepdim);
#if LOGLIN_WITH_CUDA
  if (on_cuda(x)) return max_cuda(x, p, d);
#endif
  check_cpu("max", x);
  Tensor m = reduced_last(x, p);
  Tensor out = Tensor::empty(p.out_shape, x.dtype());
  std::vector<int64_t> argmax(p.rows);
  dispatch_float(x, "max", [&]<class T>() {
    const T* in = m.data<T>();
    T* o = out.data<T>();
    for (int64_t r = 0; r < p.rows; ++r) {
      const T* row = in + r * p.cols;
      int64_t best = 0;
      for (int64_t c = 1; c < p.cols; ++c)
        if (row[c] > row[best] || (std::isnan(row[c]) && !std::isnan(row[best]))) best = c;
      argmax[r] = best;
      o[r] = row[best];
    }
  });
  autograd::record("max", {x}, {out},
                   [argmax = std::move(argmax), p, in = x.shape(), d](autograd::BackwardContext& ctx) {
                     // Scatter each row's gradient to its argmax, in the [rows, cols] layout.
                     Tensor g = core::contiguous_copy(ctx.grads[0]);
                     Tensor dx_moved = Tensor::zeros(moved_last(in, d), g.dtype());
                     dispatch_float(g, "max", [&]<class T>() {
                       const T* gp = g.data<T>();
                       T* o = dx_moved.data<T>();
                       for (int64_t r = 0; r < p.rows; ++r) o[r * p.cols + argmax[r]] = gp[r];
                     });
                     return std::vector<Tensor>{moved_back(dx_moved, d)};
                   });
  return out;
}

Tensor max(const Tensor& x) { return max(x.reshape({-1}), 0, false); }

Tensor sum_to_shape(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  const int64_t lead = g.dim() - static_cast<int64_t>(shape.size());
  LOGLIN_CHECK(lead >= 0, "[sum_to_shape] cannot sum {} down to {}", shape_str(g.shape()), shape_str(shape));
  Shape dims;
  for (int64_t i = 0; i < g.dim(); ++i) {
    if (i < lead) {
      dims.push_back(i);
    } else if (shape[i - lead] == 1 && g.shape()[i] != 1) {
      dims.push_back(i);
    } else {
      LOGLIN_CHECK(shape[i - lead] == g.shape()[i], "[sum_to_shape] cannot sum {} down to {}", shape_str(g.shape()),
                   shape_str(shape));
    }
  }
  if (dims.empty()) return g.reshape(shape);
  return sum(g, dims, true).reshape(shape);
}

}  // namespace loglin

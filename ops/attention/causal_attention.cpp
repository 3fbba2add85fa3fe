// causal_attention: checks, dtype routing (bf16 on the cpu and f32 under
// bf16 autocast go through differentiable .to() conversions), the forward on
// the inputs' device and the autograd record. The backward recomputes the
// probabilities from the saved per-row logsumexp instead of keeping [T, S];
// bf16 runs forward and backward on tensor cores where the head dim allows.
#include "ops/attention/causal_attention.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/attention/causal_attention_cpu.h"
#include "ops/autocast.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/attention/causal_attention_cuda.h"
#endif

namespace loglin {
namespace {

constexpr const char* kOp = "causal_attention";

struct Dims {
  int64_t B = 0, H = 0, T = 0, S = 0, D = 0;
};

Dims check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  check_defined(kOp, {&q, &k, &v});
  check_dim(kOp, q, 4, "q [B, H, T, D]");
  check_dim(kOp, k, 4, "k [B, H, S, D]");
  check_dim(kOp, v, 4, "v [B, H, S, D]");
  check_same_dtype(kOp, q, k);
  check_same_dtype(kOp, q, v);
  check_same_device(kOp, q, k);
  check_same_device(kOp, q, v);
  LOGLIN_CHECK(is_floating(q.dtype()), "[{}] needs floating q, k, v, got {}", kOp, dtype_name(q.dtype()));
  const Dims d{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3)};
  LOGLIN_CHECK(k.size(0) == d.B && k.size(1) == d.H && k.size(3) == d.D,
               "[{}] k must be [B, H, S, D] = [{}, {}, S, {}] to match q {}, got {}", kOp, d.B, d.H, d.D,
               shape_str(q.shape()), shape_str(k.shape()));
  LOGLIN_CHECK(v.shape() == k.shape(), "[{}] v {} must have k's shape {}", kOp, shape_str(v.shape()),
               shape_str(k.shape()));
  LOGLIN_CHECK(d.T >= 1 && d.D >= 1, "[{}] needs T >= 1 queries and head dim D >= 1, got q {}", kOp,
               shape_str(q.shape()));
  LOGLIN_CHECK(d.S >= d.T, "[{}] needs at least as many keys as queries (S >= T), got S = {} and T = {}", kOp, d.S,
               d.T);
  LOGLIN_CHECK(std::isfinite(scale), "[{}] scale must be finite, got {}", kOp, scale);
  return d;
}

// A contiguous tensor with x's values and no history, 16-byte aligned so the
// tensor-core kernel may use vector loads.
Tensor prepared(const Tensor& x) {
  Tensor c = x.is_contiguous() ? x.detach() : core::contiguous_copy(x);
  if (reinterpret_cast<uintptr_t>(c.raw_data()) % 16 != 0) c = core::contiguous_copy(c);
  return c;
}

// f32 inputs on CUDA run the bf16 tensor-core path while bf16 autocast is on.
bool bf16_autocast(const Tensor& q) { return on_cuda(q) && autocast_dtype() == DType::bf16; }

DType acc_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

#if LOGLIN_WITH_CUDA
cuda::AttentionShape cuda_shape(const Dims& d, double scale) { return {d.B * d.H, d.T, d.S, d.D, scale}; }

// Element types as the launchers name them (loglin::bf16 for bf16).
template <class F>
void dispatch_cuda(DType t, F&& f) {
  switch (t) {
    case DType::f32: f.template operator()<float>(); return;
    case DType::f64: f.template operator()<double>(); return;
    case DType::bf16: f.template operator()<bf16>(); return;
    default: LOGLIN_FAIL("[{}] needs f32, f64 or bf16 tensors, got {}", kOp, dtype_name(t));
  }
}
#endif

struct Forward {
  Tensor o, lse;
};

Forward forward(const Dims& d, double scale, const Tensor& q, const Tensor& k, const Tensor& v) {
  const DType dt = q.dtype();
  Forward f{Tensor::empty(q.shape(), dt, q.device()), Tensor::empty({d.B, d.H, d.T}, acc_dtype(dt), q.device())};
#if LOGLIN_WITH_CUDA
  if (on_cuda(q)) {
    const cuda::AttentionShape s = cuda_shape(d, scale);
    const int dev = q.device().index;
    dispatch_cuda(dt, [&]<class T>() {
      using A = cuda::attn_acc_t<T>;
      const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
      if constexpr (std::is_same_v<T, bf16>) {
        if (cuda::causal_attention_fwd_tc_supported(d.D, dev)) {
          cuda::causal_attention_fwd_tc<T>(s, qp, kp, vp, f.o.data<T>(), f.lse.data<float>(), dev);
          return;
        }
      }
      cuda::causal_attention_fwd<T>(s, qp, kp, vp, f.o.data<T>(), f.lse.data<A>(), dev);
    });
    return f;
  }
#endif
  const cpu::AttentionDims cd{d.B * d.H, d.T, d.S, d.D, scale};
  dispatch_float(dt, kOp, [&]<class T>() {
    cpu::causal_attention_fwd<T>(cd, q.data<T>(), k.data<T>(), v.data<T>(), f.o.data<T>(), f.lse.data<T>());
  });
  return f;
}

std::vector<Tensor> backward(const Dims& d, double scale, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& o, const Tensor& lse, const Tensor& dout) {
  const DType dt = q.dtype();
  Tensor dq = Tensor::empty(q.shape(), dt, q.device());
  Tensor dk = Tensor::empty(k.shape(), dt, q.device()), dv = Tensor::empty(v.shape(), dt, q.device());
#if LOGLIN_WITH_CUDA
  if (on_cuda(q)) {
    Tensor delta = Tensor::empty({d.B, d.H, d.T}, acc_dtype(dt), q.device());
    const int dev = q.device().index;
    dispatch_cuda(dt, [&]<class T>() {
      using A = cuda::attn_acc_t<T>;
      if constexpr (std::is_same_v<T, bf16>) {
        // The same test as the forward's, so a tensor-core forward gets a
        // tensor-core backward.
        if (cuda::causal_attention_tc_backward_enabled() && cuda::causal_attention_fwd_tc_supported(d.D, dev)) {
          cuda::causal_attention_bwd_tc<T>(cuda_shape(d, scale), q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(),
                                           lse.data<float>(), dout.data<T>(), delta.data<float>(), dq.data<T>(),
                                           dk.data<T>(), dv.data<T>(), dev);
          return;
        }
      }
      cuda::causal_attention_bwd<T>(cuda_shape(d, scale), q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(),
                                    lse.data<A>(), dout.data<T>(), delta.data<A>(), dq.data<T>(), dk.data<T>(),
                                    dv.data<T>(), dev);
    });
    return {dq, dk, dv};
  }
#endif
  const cpu::AttentionDims cd{d.B * d.H, d.T, d.S, d.D, scale};
  dispatch_float(dt, kOp, [&]<class T>() {
    cpu::causal_attention_bwd<T>(cd, q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(), lse.data<T>(),
                                 dout.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>());
  });
  return {dq, dk, dv};
}

}  // namespace

Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  const Dims d = check_inputs(q, k, v, scale);
  if (q.dtype() == DType::bf16 && !on_cuda(q)) {
    // bf16 is storage only on the cpu: compute in f32; gradients return to
    // bf16 through the same differentiable conversions.
    return causal_attention(q.to(DType::f32), k.to(DType::f32), v.to(DType::f32), scale).to(DType::bf16);
  }
  if (q.dtype() == DType::f32 && bf16_autocast(q)) {
    return causal_attention(q.to(DType::bf16), k.to(DType::bf16), v.to(DType::bf16), scale).to(DType::f32);
  }
  const Tensor qc = prepared(q), kc = prepared(k), vc = prepared(v);
  Forward f = forward(d, scale, qc, kc, vc);
  autograd::record(kOp, {q, k, v}, {f.o},
                   [d, scale, qc, kc, vc, o = f.o.detach(), lse = f.lse](autograd::BackwardContext& ctx) {
                     return backward(d, scale, qc, kc, vc, o, lse, prepared(ctx.grads[0].to(o.dtype())));
                   });
  return f.o;
}

}  // namespace loglin

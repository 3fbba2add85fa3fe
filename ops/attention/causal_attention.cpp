// causal_attention: checks, dtype routing (bf16 on the cpu and f32 under
// bf16 autocast go through differentiable .to() conversions), the forward on
// the inputs' device and the autograd record. The backward recomputes the
// probabilities from the saved per-row logsumexp instead of keeping [T, S];
// bf16 runs forward and backward on tensor cores where the head dim allows.
// On CUDA the kernels read q, k, v and dO through their strides: no layout
// copies unless the last dim is strided (or, for the tensor-core kernels, a
// row is not 16-byte aligned). The CPU kernels take contiguous tensors.
#include "ops/attention/causal_attention.h"

#include <cmath>
#include <cstdint>
#include <type_traits>

#include <fmt/format.h>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/attention/causal_attention_cpu.h"
#include "ops/attention/causal_attention_versions.h"
#include "ops/autocast.h"
#include "ops/explain.h"
#include "ops/kernel_registry.h"
#include "ops/op_checks.h"
#include "ops/precision.h"
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

// What the kernels that read an operand need of its layout.
enum class Need {
  contiguous,    // the cpu kernels
  unit_rows,     // the SIMT CUDA kernels: stride 1 along D
  aligned_rows,  // the tensor-core kernels: also every row 16-byte aligned
};

#if LOGLIN_WITH_CUDA
cuda::AttnStrides strides_of(const Tensor& x) { return {x.strides()[0], x.strides()[1], x.strides()[2]}; }
#endif

bool layout_ok(const Tensor& x, Need need) {
  if (need == Need::contiguous) return x.is_contiguous();
  if (x.size(3) > 1 && x.strides()[3] != 1) return false;
#if LOGLIN_WITH_CUDA
  if (need == Need::aligned_rows)
    return cuda::rows_aligned16(x.raw_data(), strides_of(x), x.size(0), x.size(1), x.size(2),
                                static_cast<int64_t>(dtype_size(x.dtype())));
#endif
  return true;
}

// x without history, laid out as `need` asks: a view of x when it already
// is, else a contiguous (16-byte aligned) copy.
Tensor prepared(const Tensor& x, Need need) {
  Tensor c = x.detach();
  if (!layout_ok(c, need)) c = core::contiguous_copy(c);
  if (need != Need::unit_rows && reinterpret_cast<uintptr_t>(c.raw_data()) % 16 != 0) c = core::contiguous_copy(c);
  return c;
}

// A [B, H, rows, D] output: contiguous, or (bthd) a permuted view of a
// contiguous [B, rows, H, D] buffer.
Tensor new_output(int64_t B, int64_t H, int64_t rows, int64_t D, DType dt, Device dev, bool bthd) {
  if (!bthd) return Tensor::empty({B, H, rows, D}, dt, dev);
  Tensor buf = Tensor::empty({B, rows, H, D}, dt, dev);
  return core::as_strided(buf, {B, H, rows, D}, {rows * H * D, D, H * D, 1}, 0);
}

// y converted to dtype t (differentiably), keeping y's [B, T, H, D] layout
// when it has one: the conversion copies the contiguous permuted view.
Tensor converted(const Tensor& y, DType t, bool bthd) {
  if (!bthd) return y.to(t);
  return y.permute({0, 2, 1, 3}).to(t).permute({0, 2, 1, 3});
}

DType acc_dtype(DType t) { return t == DType::f64 ? DType::f64 : DType::f32; }

#if LOGLIN_WITH_CUDA
cuda::AttentionShape cuda_shape(const Dims& d, double scale) { return {d.B * d.H, d.H, d.T, d.S, d.D, scale}; }

cuda::AttentionStrides cuda_strides(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                                    const Tensor& dout) {
  cuda::AttentionStrides st;
  st.q = strides_of(q), st.k = strides_of(k), st.v = strides_of(v), st.o = strides_of(o);
  if (dout.defined()) st.dout = strides_of(dout);
  return st;
}

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

// ---- the plan ----

struct Planned {
  KernelPlan plan;
  bool tc = false;  // the tensor-core kernels run the forward and the backward
};

std::string describe(const Dims& d, double scale, bool bthd) {
  return fmt::format("q [{}, {}, {}, {}], S = {}, scale {:.4g}{}", d.B, d.H, d.T, d.D, d.S, scale,
                     bthd ? ", [B, T, H, D] output" : "");
}

// Which implementation runs the call, in which dtype, and why.
Planned make_plan(const Dims& d, const Tensor& q, double scale, bool bthd) {
  Planned p;
  KernelPlan& k = p.plan;
  k.op = kOp;
  k.call = describe(d, scale, bthd);
  k.device = q.device();
  k.input_dtype = k.compute_dtype = q.dtype();
  if (!on_cuda(q)) {
    k.version = "cpu";
    k.reason = "the CPU loops";
    if (q.dtype() == DType::bf16) {
      k.compute_dtype = DType::f32;
      k.reason += "; bf16 is storage only on the CPU, so they compute in f32";
    }
    return p;
  }
  if (q.dtype() == DType::f32 && autocast_dtype() == DType::bf16) {
    k.compute_dtype = DType::bf16;
    k.autocast = true;
  }
  const CausalAttentionCall call{k.compute_dtype, d.D, q.device().index};
  const CausalAttentionVersion& v = kernels::select_version(
      kOp, causal_attention_versions(), [&](const CausalAttentionVersion& x) { return x.takes(call); },
      fmt::format("{} inputs, head dim {}", dtype_name(call.dtype), d.D));
  k.version = v.name;
  p.tc = v.tensor_cores;
  if (!kernels::is_auto(kernel_version_choice(kOp))) k.reason = "chosen by " + kernels::choice_source(kOp);
  else if (p.tc) k.reason = fmt::format("bf16 with head dim {} on tensor cores", d.D);
  else if (call.dtype == DType::bf16) k.reason = fmt::format("head dim {}: the tensor-core kernels take 64 and 128", d.D);
  else
    k.reason = fmt::format("{} runs the SIMT kernels (tensor cores take bf16 or bf16 autocast{})",
                           dtype_name(call.dtype),
                           call.dtype == DType::f32 && float32_matmul_allows_tf32()
                               ? "; there is no TF32 kernel, so precision high changes nothing here"
                               : "");
  return p;
}

struct Forward {
  Tensor o;      // what the op returns
  Tensor lse;
  Tensor o_raw;  // o (without history) as the backward reads it
};

Forward forward(const Dims& d, double scale, bool tc, const Tensor& q, const Tensor& k, const Tensor& v, bool bthd) {
  const DType dt = q.dtype();
  Forward f{new_output(d.B, d.H, d.T, d.D, dt, q.device(), bthd),
            Tensor::empty({d.B, d.H, d.T}, acc_dtype(dt), q.device()), Tensor()};
#if LOGLIN_WITH_CUDA
  if (on_cuda(q)) {
    const cuda::AttentionShape s = cuda_shape(d, scale);
    const cuda::AttentionStrides st = cuda_strides(q, k, v, f.o, Tensor());
    const int dev = q.device().index;
    dispatch_cuda(dt, [&]<class T>() {
      using A = cuda::attn_acc_t<T>;
      const T *qp = q.data<T>(), *kp = k.data<T>(), *vp = v.data<T>();
      if constexpr (std::is_same_v<T, bf16>) {
        if (tc) {
          cuda::causal_attention_fwd_tc<T>(s, st, qp, kp, vp, f.o.data<T>(), f.lse.data<float>(), dev);
          return;
        }
      }
      cuda::causal_attention_fwd<T>(s, st, qp, kp, vp, f.o.data<T>(), f.lse.data<A>(), dev);
    });
    f.o_raw = f.o.detach();
    return f;
  }
#endif
  (void)tc;
  const cpu::AttentionDims cd{d.B * d.H, d.T, d.S, d.D, scale};
  Tensor o = bthd ? Tensor::empty(q.shape(), dt, q.device()) : f.o;
  dispatch_float(dt, kOp, [&]<class T>() {
    cpu::causal_attention_fwd<T>(cd, q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(), f.lse.data<T>());
  });
  if (bthd) core::copy_into(f.o, o);
  f.o_raw = o.detach();
  return f;
}

std::vector<Tensor> backward(const Dims& d, double scale, bool tc, const Tensor& q, const Tensor& k, const Tensor& v,
                             const Tensor& o, const Tensor& lse, const Tensor& dout) {
  const DType dt = q.dtype();
  Tensor dq = Tensor::empty(q.shape(), dt, q.device());
  Tensor dk = Tensor::empty(k.shape(), dt, q.device()), dv = Tensor::empty(v.shape(), dt, q.device());
#if LOGLIN_WITH_CUDA
  if (on_cuda(q)) {
    Tensor delta = Tensor::empty({d.B, d.H, d.T}, acc_dtype(dt), q.device());
    const int dev = q.device().index;
    const cuda::AttentionStrides st = cuda_strides(q, k, v, o, dout);
    dispatch_cuda(dt, [&]<class T>() {
      using A = cuda::attn_acc_t<T>;
      if constexpr (std::is_same_v<T, bf16>) {
        // A tensor-core forward gets a tensor-core backward.
        if (tc) {
          cuda::causal_attention_bwd_tc<T>(cuda_shape(d, scale), st, q.data<T>(), k.data<T>(), v.data<T>(),
                                           o.data<T>(), lse.data<float>(), dout.data<T>(), delta.data<float>(),
                                           dq.data<T>(), dk.data<T>(), dv.data<T>(), dev);
          return;
        }
      }
      cuda::causal_attention_bwd<T>(cuda_shape(d, scale), st, q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(),
                                    lse.data<A>(), dout.data<T>(), delta.data<A>(), dq.data<T>(), dk.data<T>(),
                                    dv.data<T>(), dev);
    });
    return {dq, dk, dv};
  }
#endif
  (void)tc;
  const cpu::AttentionDims cd{d.B * d.H, d.T, d.S, d.D, scale};
  dispatch_float(dt, kOp, [&]<class T>() {
    cpu::causal_attention_bwd<T>(cd, q.data<T>(), k.data<T>(), v.data<T>(), o.data<T>(), lse.data<T>(),
                                 dout.data<T>(), dq.data<T>(), dk.data<T>(), dv.data<T>());
  });
  return {dq, dk, dv};
}

// Runs the plan on inputs already in its compute dtype and records the backward.
Tensor run(const Planned& p, const Dims& d, double scale, const Tensor& q, const Tensor& k, const Tensor& v,
           bool bthd) {
  const bool tc = p.tc;
  const Need need = !on_cuda(q) ? Need::contiguous : (tc ? Need::aligned_rows : Need::unit_rows);
  // Views of the inputs where their layout allows: saved as they are.
  const Tensor qc = prepared(q, need), kc = prepared(k, need), vc = prepared(v, need);
  Forward f = forward(d, scale, tc, qc, kc, vc, bthd);
  autograd::record(kOp, {q, k, v}, {f.o},
                   [d, scale, tc, need, qc, kc, vc, o = f.o_raw, lse = f.lse](autograd::BackwardContext& ctx) {
                     // dO in whatever strides it comes (for a bthd output,
                     // typically [B, T, H, D] contiguous).
                     return backward(d, scale, tc, qc, kc, vc, o, lse, prepared(ctx.grads[0].to(o.dtype()), need));
                   });
  return f.o;
}

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale, bool bthd) {
  const Dims d = check_inputs(q, k, v, scale);
  const Planned p = make_plan(d, q, scale, bthd);
  explain(kOp, p.plan.str());
  const DType in = q.dtype(), at = p.plan.compute_dtype;
  if (at == in) return run(p, d, scale, q, k, v, bthd);
  // bf16 on the cpu (f32 math) or f32 under bf16 autocast (bf16 math): the
  // differentiable conversions bring the gradients back to the inputs' dtype.
  return converted(run(p, d, scale, q.to(at), k.to(at), v.to(at), bthd), in, bthd);
}

}  // namespace

Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  return attention(q, k, v, scale, /*bthd=*/false);
}

Tensor causal_attention_bthd(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  return attention(q, k, v, scale, /*bthd=*/true);
}

KernelPlan plan_causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  return make_plan(check_inputs(q, k, v, scale), q, scale, /*bthd=*/false).plan;
}

}  // namespace loglin

// The entry point of scalar-decay linear attention (log-linear attention
// with lambda == 1): input checks, dtype handling, the chunked CPU forward,
// and the autograd record whose backward runs the hand-written chunked
// backward. The layout (chunk_cpu.h) is the log-linear op's with L = 0.
#include "ops/log_linear_attention/scalar_decay_attention.h"

#include <cmath>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/autocast.h"
#include "ops/log_linear_attention/chunk_cpu.h"
#include "ops/log_linear_attention/log_linear_attention.h"
#include "ops/op_checks.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/gpu_plan.h"
#include "ops/log_linear_attention/scalar_decay_attention_cuda.h"
#endif

namespace loglin {
namespace {

constexpr const char* kOpName = "scalar_decay_attention";

// A contiguous tensor of dtype D with x's values and no history.
Tensor prepared(const Tensor& x, DType D) {
  if (x.is_contiguous() && x.dtype() == D) return x.detach();
  return core::contiguous_copy(x, D);
}

bool is_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16; }

#if LOGLIN_WITH_CUDA
// The device workspace: G per row and one K x V state per chunk and head.
struct GpuWorkspace {
  Tensor Gd, states;
  GpuWorkspace(const lla::GpuProblem& p, DType D, Device dev)
      : Gd(Tensor::empty({p.rows * p.H}, DType::f64, dev)),
        states(Tensor::empty({p.n_jobs * p.H * p.K * p.V}, D, dev)) {}
  template <class T>
  void fill(lla::GpuForward<T>& f) const {
    f.Gd = Gd.data<double>();
    f.nodes = states.data<T>();
  }
};
#endif

}  // namespace

Tensor scalar_decay_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                              const ScalarDecayOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g (B,T,H) -> o (B,T,H,V).
  check_defined(kOpName, {&q, &k, &v, &g});
  if (is_bf16(q) || is_bf16(k) || is_bf16(v)) {
    // bf16 is storage only on the cpu: compute in f32 through the
    // differentiable .to(), so gradients come back to bf16 by the same road.
    auto f32 = [](const Tensor& t) { return t.dtype() == DType::bf16 ? t.to(DType::f32) : t; };
    return scalar_decay_attention(f32(q), f32(k), f32(v), g, options).to(DType::bf16);
  }
  const lla::Layout lay = lla::check_qkvg(kOpName, q, k, v, g, options.cu_seqlens(), options.chunk_size());
  const DType D = q.dtype();
  const int64_t B = q.size(0), T = q.size(1);
#if LOGLIN_WITH_CUDA
  // Under bf16 autocast on CUDA the log-linear tensor-core kernels compute
  // this op as log-linear attention with every level scale 1 (the identity
  // above): one tree more than the scan needs, but on tensor cores, where the
  // SIMT scan below walks the chunks one after another. Their level-scale
  // gradient is dropped (the scales are a constant).
  // With TF32 allowed (f32 inputs) the same on the TF32 kernels.
  const bool tf32 = D == DType::f32 && log_linear_attention_allow_tf32();
  if (on_cuda(q) && (autocast_dtype() == DType::bf16 || tf32) && T > 0) {
    const int64_t levels = lla::bit_length(T - 1) + 1;  // what the last position needs
    const Tensor ones = Tensor::ones({B, T, lay.H, levels}, DType::f32, q.device());
    LogLinearAttentionOptions lo;
    lo.chunk_size(options.chunk_size());
    if (options.cu_seqlens().defined()) lo.cu_seqlens(options.cu_seqlens());
    if (std::optional<Tensor> o = lla::autocast_tensor_core_attention(q, k, v, g, ones, lo)) return std::move(*o);
    if (tf32)
      if (std::optional<Tensor> o = lla::tf32_tensor_core_attention(q, k, v, g, ones, lo)) return std::move(*o);
  }
#endif
  const Tensor qc = prepared(q, D), kc = prepared(k, D), vc = prepared(v, D), gc = prepared(g, D);
  const Device dev = q.device();
  Tensor o = Tensor::empty({B, T, lay.H, lay.V}, D, dev);

#if LOGLIN_WITH_CUDA
  if (on_cuda(q)) {
    const lla::GpuPlan plan = lla::make_gpu_plan(lay, dev);
    const GpuWorkspace ws(plan.prob, D, dev);
    dispatch_float(D, kOpName, [&]<class T_>() {
      lla::GpuForward<T_> a;
      a.q = qc.data<T_>(), a.k = kc.data<T_>(), a.v = vc.data<T_>(), a.g = gc.data<T_>();
      a.o = o.data<T_>();
      ws.fill(a);
      lla::scalar_decay_forward_cuda<T_>(plan.prob, a);
    });
  } else
#endif
  dispatch_float(D, kOpName, [&]<class T_>() {
    lla::ScalarDecayArgs<T_> a;
    a.q = qc.data<T_>(), a.k = kc.data<T_>(), a.v = vc.data<T_>(), a.g = gc.data<T_>();
    a.o = o.data<T_>();
    lla::scalar_decay_forward_cpu<T_>(lay, a);
  });

  autograd::record(
      kOpName, {q, k, v, g}, {o},
      [lay, qc, kc, vc, gc, od = o.detach(), g_dtype = g.dtype()](autograd::BackwardContext& ctx) {
        const DType D = qc.dtype();
        const Tensor dout = prepared(ctx.grads[0], D);
        const Device dev = qc.device();
        Tensor dq = Tensor::empty(qc.shape(), D, dev), dk = Tensor::empty(kc.shape(), D, dev);
        Tensor dv = Tensor::empty(vc.shape(), D, dev), dg = Tensor::empty(gc.shape(), D, dev);
#if LOGLIN_WITH_CUDA
        if (on_cuda(qc)) {
          const lla::GpuPlan plan = lla::make_gpu_plan(lay, dev);
          const lla::GpuProblem& p = plan.prob;
          const GpuWorkspace ws(p, D, dev);
          const Tensor dq_head = Tensor::empty({p.rows * p.H * p.K}, D, dev);
          const Tensor dk_head = Tensor::empty({p.rows * p.H * p.K}, D, dev);
          const Tensor dstates = Tensor::empty({p.n_jobs * p.H * p.K * p.V}, D, dev);
          dispatch_float(D, kOpName, [&]<class T_>() {
            lla::GpuBackward<T_> a;
            a.fwd.q = qc.data<T_>(), a.fwd.k = kc.data<T_>(), a.fwd.v = vc.data<T_>(), a.fwd.g = gc.data<T_>();
            a.fwd.o = od.data<T_>();
            ws.fill(a.fwd);
            a.dout = dout.data<T_>();
            a.dq = dq.data<T_>(), a.dk = dk.data<T_>(), a.dv = dv.data<T_>(), a.dg = dg.data<T_>();
            a.dq_head = dq_head.data<T_>(), a.dk_head = dk_head.data<T_>();
            a.dnodes = dstates.data<T_>();
            lla::scalar_decay_backward_cuda<T_>(p, a);
          });
          if (g_dtype != D) dg = core::contiguous_copy(dg, g_dtype);
          return std::vector<Tensor>{dq, dk, dv, dg};
        }
#endif
        dispatch_float(D, kOpName, [&]<class T_>() {
          lla::ScalarDecayGradArgs<T_> a;
          a.fwd.q = qc.data<T_>(), a.fwd.k = kc.data<T_>(), a.fwd.v = vc.data<T_>(), a.fwd.g = gc.data<T_>();
          a.fwd.o = od.data<T_>();
          a.dout = dout.data<T_>();
          a.dq = dq.data<T_>(), a.dk = dk.data<T_>(), a.dv = dv.data<T_>(), a.dg = dg.data<T_>();
          lla::scalar_decay_backward_cpu<T_>(lay, a);
        });
        if (g_dtype != D) dg = core::contiguous_copy(dg, g_dtype);
        return std::vector<Tensor>{dq, dk, dv, dg};
      });
  return o;
}

}  // namespace loglin

// The entry of scalar-decay linear attention (log-linear attention with
// lambda == 1). It reads top to bottom: check the inputs, make the plan
// (which implementation and why: the CPU scan, the CUDA SIMT scan, or
// log-linear attention's tensor-core kernels with level scales 1), run it,
// record the backward (one record path for the CPU and CUDA scans). The
// layout (ops/chunk_layout) is the log-linear op's with L = 0.
#include "ops/scalar_decay_attention/scalar_decay_attention.h"

#include <cmath>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/chunk_layout/checks.h"
#include "ops/explain.h"
#include "ops/log_linear_attention/internal.h"
#include "ops/op_checks.h"
#include "ops/scalar_decay_attention/cpu/scalar_decay_cpu.h"
#if LOGLIN_WITH_CUDA
#include "ops/log_linear_attention/cuda/gpu_plan.h"
#include "ops/scalar_decay_attention/scalar_decay_attention_cuda.h"
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
Tensor as_f32(const Tensor& t) { return is_bf16(t) ? t.to(DType::f32) : t; }

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

// The plan: KernelPlan for explain, the layout, and (when log-linear
// attention's tensor cores take the call) its plan with level scales 1.
struct Planned {
  KernelPlan kernel;
  lla::Layout layout;
  std::optional<lla::Plan> tensor_cores;
  Tensor ones;                           // the level scales of that road
  LogLinearAttentionOptions lla_options;  // and its options
};

// q, k, v already f32 or f64 (bf16 inputs are converted before the plan).
Planned make_plan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                  const ScalarDecayOptions& options) {
  Planned p;
  KernelPlan& kp = p.kernel;
  kp.op = kOpName;
  kp.device = q.device();
  kp.input_dtype = q.dtype();
  p.layout = lla::check_qkvg(kOpName, q, k, v, g, options.cu_seqlens(), options.chunk_size());
  kp.call = fmt::format("q {}, v {}, chunk {}{}", shape_str(q.shape()), shape_str(v.shape()), p.layout.C,
                        options.cu_seqlens().defined() ? fmt::format(", {} packed sequences", p.layout.seqs.size())
                                                       : std::string());
  kp.compute_dtype = q.dtype();
  if (!on_cuda(q)) {
    kp.version = "cpu";
    kp.reason = "the chunked CPU scan";
    return p;
  }
  const int64_t B = q.size(0), T = q.size(1);
  if (q.dtype() == DType::f32 && T > 0) {
    // Log-linear attention with every level scale 1 is this op: one tree more
    // than the scan needs, but on tensor cores, where the SIMT scan walks the
    // chunks one after another. The scales' gradient is dropped (constants).
    const int64_t levels = lla::bit_length(T - 1) + 1;  // what the last position needs
    p.lla_options.chunk_size(options.chunk_size());
    if (options.cu_seqlens().defined()) p.lla_options.cu_seqlens(options.cu_seqlens());
    p.ones = Tensor::ones({B, T, p.layout.H, levels}, DType::f32, q.device());
    lla::Plan lp = lla::tensor_core_plan(q, k, v, g, p.ones, p.lla_options, lla::wants_grad(q, k, v, g, p.ones, nullptr));
    if (lp.version) {
      kp.version = std::string("log_linear_attention ") + lp.kernel.version;
      kp.compute_dtype = lp.kernel.compute_dtype;
      kp.autocast = lp.kernel.autocast;
      kp.tf32 = lp.kernel.tf32;
      kp.reason = "log-linear attention's tensor cores with level scales 1 (" + lp.kernel.reason + ")";
      p.tensor_cores = std::move(lp);
      return p;
    }
  }
  kp.version = "simt";
  kp.reason = q.dtype() == DType::f64 ? "the SIMT scan (f64)"
                                      : "the SIMT scan (tensor cores need bf16 autocast or float32 matmul precision "
                                        "high, and v2 taking the call)";
  return p;
}

// The CPU or CUDA scan on f32 or f64 inputs, recorded for autograd (one
// record path; the backward runs the same device's scan backward).
Tensor run_scan(const lla::Layout& lay, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g) {
  const DType D = q.dtype();
  const int64_t B = q.size(0), T = q.size(1);
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

Tensor run(const Planned& plan, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g) {
  if (plan.tensor_cores) return lla::run(*plan.tensor_cores, q, k, v, g, plan.ones, plan.lla_options).o;
  return run_scan(plan.layout, q, k, v, g);
}

}  // namespace

KernelPlan plan_scalar_decay_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                       const ScalarDecayOptions& options) {
  check_defined(kOpName, {&q, &k, &v, &g});
  if (is_bf16(q) || is_bf16(k) || is_bf16(v)) {
    KernelPlan p = make_plan(as_f32(q), as_f32(k), as_f32(v), g, options).kernel;
    p.input_dtype = DType::bf16;
    return p;
  }
  return make_plan(q, k, v, g, options).kernel;
}

Tensor scalar_decay_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                              const ScalarDecayOptions& options) {
  // q, k (B,T,G,K); v (B,T,H,V); g (B,T,H) -> o (B,T,H,V).
  check_defined(kOpName, {&q, &k, &v, &g});
  if (is_bf16(q) || is_bf16(k) || is_bf16(v)) {
    // bf16 is storage only here: compute in f32 through the differentiable
    // .to(), so gradients come back to bf16 by the same road.
    const Tensor qf = as_f32(q), kf = as_f32(k), vf = as_f32(v);
    const Planned plan = make_plan(qf, kf, vf, g, options);
    explain(kOpName, plan.kernel.str() + " (bf16 inputs computed in f32)");
    return run(plan, qf, kf, vf, g).to(DType::bf16);
  }
  const Planned plan = make_plan(q, k, v, g, options);
  explain(kOpName, plan.kernel.str());
  return run(plan, q, k, v, g);
}

}  // namespace loglin

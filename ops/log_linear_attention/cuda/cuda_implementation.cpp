// A registered CUDA version (kernel_versions.h) as an Implementation of the
// record path (record.h): uploads the call's tables (gpu_plan.h), gives the
// version one workspace buffer per pass, and keeps the forward's workspace
// for a backward that reuses it (v2: its tree and G).
#include <algorithm>
#include <type_traits>

#include "ops/log_linear_attention/checks.h"
#include "ops/log_linear_attention/cuda/gpu_plan.h"
#include "ops/log_linear_attention/record.h"

namespace loglin::lla {

#if LOGLIN_WITH_CUDA
namespace {

// One device buffer of `bytes` bytes (a version's workspace).
Tensor workspace(size_t bytes, Device dev) {
  return Tensor::empty({std::max<int64_t>(static_cast<int64_t>((bytes + 7) / 8), 1)}, DType::i64, dev);
}

template <class T, class A>
ForwardFn<T, A> forward_fn(const KernelVersion& v) {
  if constexpr (std::is_same_v<T, bf16>) return v.forward_bf16;
  else if constexpr (std::is_same_v<T, double>) return v.forward_f64;
  else return v.forward_f32;
}
template <class T, class A>
BackwardFn<T, A> backward_fn(const KernelVersion& v) {
  if constexpr (std::is_same_v<T, bf16>) return v.backward_bf16;
  else if constexpr (std::is_same_v<T, double>) return v.backward_f64;
  else return v.backward_f32;
}

template <class X>
X* ptr(const Tensor& t) {
  return t.defined() ? t.data<X>() : nullptr;
}

template <class T, class A>
GpuForward<T, A> forward_args(const ForwardTensors& f) {
  GpuForward<T, A> a;
  a.q = f.q.data<T>(), a.k = f.k.data<T>(), a.v = f.v.data<T>(), a.g = f.g.data<A>(), a.ls = f.ls.data<T>();
  a.state_in = ptr<A>(f.state_in);
  a.o = f.o.data<T>();
  a.state_out = ptr<A>(f.state_out);
  return a;
}

// T: q, k, v, level_scales, o and their gradients (f32, f64, or bf16 for a
// native bf16 version); A: g, the states and their gradients (T, or f32 with bf16).
template <class T, class A>
Implementation typed(const KernelVersion& ver, const Layout& lay, const KernelCall& call) {
  Implementation impl;
  const KernelVersion* vp = &ver;  // registry entries live for the program
  impl.forward = [vp, lay, call](const ForwardTensors& f) {
    const Device dev = f.q.device();
    const GpuPlan plan = make_gpu_plan(lay, dev);
    const Tensor ws = workspace(vp->workspace_bytes(plan.prob, call, Pass::forward), dev);
    forward_fn<T, A>(*vp)(plan.prob, forward_args<T, A>(f), ws.raw_data());
    return vp->backward_reuses_forward_workspace ? ws : Tensor();
  };
  impl.backward = [vp, lay, call](const ForwardTensors& f, const Tensor& kept, GradTensors& gr) {
    const Device dev = f.q.device();
    const GpuPlan plan = make_gpu_plan(lay, dev);
    KernelCall bc = call;
    bc.dstate_in = gr.dstate_in.defined();
    const Tensor ws = workspace(vp->workspace_bytes(plan.prob, bc, Pass::backward), dev);
    GpuBackward<T, A> a;
    a.fwd = forward_args<T, A>(f);
    a.dout = gr.dout.data<T>();
    a.dstate_out = ptr<A>(gr.dstate_out);
    a.dq = gr.dq.data<T>(), a.dk = gr.dk.data<T>(), a.dv = gr.dv.data<T>(), a.dg = gr.dg.data<A>();
    a.dls = gr.dls.data<T>();
    a.dstate_in = ptr<A>(gr.dstate_in);
    a.forward_workspace = kept.defined() ? kept.raw_data() : nullptr;
    backward_fn<T, A>(*vp)(plan.prob, a, ws.raw_data());
  };
  return impl;
}

}  // namespace

Implementation cuda_implementation(const KernelVersion& version, const Layout& lay, const KernelCall& call) {
  switch (call.dtype) {
    case DType::bf16: return typed<bf16, float>(version, lay, call);
    case DType::f32: return typed<float, float>(version, lay, call);
    case DType::f64: return typed<double, double>(version, lay, call);
    default: LOGLIN_FAIL("[{}] no CUDA kernels for {} inputs", kOpName, dtype_name(call.dtype));
  }
}
#else
Implementation cuda_implementation(const KernelVersion&, const Layout&, const KernelCall&) {
  LOGLIN_FAIL("[{}] this build has no CUDA backend", kOpName);
}
#endif

}  // namespace loglin::lla

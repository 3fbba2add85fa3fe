// A registered CUDA version (../kernel_versions.h) as an Implementation of
// the record path (../record.h): uploads the call's sequence table
// (gpu_plan.h) and gives the version one workspace buffer per pass. Buffers
// freed here are reused only by work queued later on the same stream.
#include <algorithm>
#include <type_traits>

#include "ops/gated_delta_rule/cuda/gpu_plan.h"
#include "ops/gated_delta_rule/record.h"

namespace loglin::gdr {

#if LOGLIN_WITH_CUDA
namespace {

// One device buffer of `bytes` bytes (a version's workspace).
Tensor workspace(size_t bytes, Device dev) {
  return Tensor::empty({std::max<int64_t>(static_cast<int64_t>((bytes + 7) / 8), 1)}, DType::i64, dev);
}

template <class T>
ForwardFn<T> forward_fn(const KernelVersion& v) {
  if constexpr (std::is_same_v<T, double>) return v.forward_f64;
  else return v.forward_f32;
}
template <class T>
BackwardFn<T> backward_fn(const KernelVersion& v) {
  if constexpr (std::is_same_v<T, double>) return v.backward_f64;
  else return v.backward_f32;
}

template <class X>
X* ptr(const Tensor& t) {
  return t.defined() ? t.data<X>() : nullptr;
}

template <class T>
GpuForward<T> forward_args(const ForwardTensors& f) {
  GpuForward<T> a;
  a.q = f.q.data<T>(), a.k = f.k.data<T>(), a.v = f.v.data<T>(), a.g = f.g.data<T>(), a.beta = f.beta.data<T>();
  a.ls = ptr<T>(f.ls);
  a.state_in = ptr<T>(f.state_in);
  a.o = ptr<T>(f.o);
  a.state_out = ptr<T>(f.state_out);
  return a;
}

template <class T>
Implementation typed(const KernelVersion& ver, const lla::Layout& lay, const KernelCall& call) {
  Implementation impl;
  const KernelVersion* vp = &ver;  // registry entries live for the program
  impl.forward = [vp, lay, call](const ForwardTensors& f) {
    const Device dev = f.q.device();
    const GpuPlan plan = make_gpu_plan(lay, call.log_linear, dev);
    const Tensor ws = workspace(vp->workspace_bytes(plan.prob, call, Pass::forward), dev);
    forward_fn<T>(*vp)(plan.prob, forward_args<T>(f), ws.raw_data());
    return Tensor();
  };
  impl.backward = [vp, lay, call](const ForwardTensors& f, const Tensor&, GradTensors& gr) {
    const Device dev = f.q.device();
    const GpuPlan plan = make_gpu_plan(lay, call.log_linear, dev);
    KernelCall bc = call;
    bc.dstate_in = gr.dstate_in.defined();
    const Tensor ws = workspace(vp->workspace_bytes(plan.prob, bc, Pass::backward), dev);
    GpuBackward<T> a;
    a.fwd = forward_args<T>(f);
    a.dout = gr.dout.data<T>();
    a.dstate_out = ptr<T>(gr.dstate_out);
    a.dq = gr.dq.data<T>(), a.dk = gr.dk.data<T>(), a.dv = gr.dv.data<T>(), a.dg = gr.dg.data<T>();
    a.dbeta = gr.dbeta.data<T>();
    a.dls = ptr<T>(gr.dls);
    a.dstate_in = ptr<T>(gr.dstate_in);
    backward_fn<T>(*vp)(plan.prob, a, ws.raw_data());
  };
  return impl;
}

}  // namespace

Implementation cuda_implementation(const KernelVersion& version, const lla::Layout& lay, const KernelCall& call) {
  switch (call.dtype) {
    case DType::f32: return typed<float>(version, lay, call);
    case DType::f64: return typed<double>(version, lay, call);
    default: LOGLIN_FAIL("[{}] no CUDA kernels for {} inputs", kVersionsOp, dtype_name(call.dtype));
  }
}
#else
Implementation cuda_implementation(const KernelVersion&, const lla::Layout&, const KernelCall&) {
  LOGLIN_FAIL("[{}] this build has no CUDA backend", kVersionsOp);
}
#endif

}  // namespace loglin::gdr

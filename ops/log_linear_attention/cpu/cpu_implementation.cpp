// The chunked CPU code as an Implementation of the record path (record.h):
// the forward and the hand-written backward of cpu/chunk_*_cpu.cpp in the
// compute dtype (f32 or f64; g and the states in the same dtype).
#include "core/dispatch.h"
#include "ops/log_linear_attention/cpu/chunk_cpu.h"
#include "ops/log_linear_attention/record.h"

namespace loglin::lla {
namespace {

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* mutable_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class T>
ForwardArgs<T> forward_args(const ForwardTensors& f) {
  ForwardArgs<T> a;
  a.q = f.q.data<T>(), a.k = f.k.data<T>(), a.v = f.v.data<T>(), a.g = f.g.data<T>(), a.ls = f.ls.data<T>();
  a.state_in = data_or_null<T>(f.state_in);
  a.o = f.o.data<T>();
  a.state_out = mutable_or_null<T>(f.state_out);
  return a;
}

}  // namespace

Implementation cpu_implementation(const Layout& lay) {
  Implementation impl;
  impl.forward = [lay](const ForwardTensors& f) {
    dispatch_float(f.q, kOpName, [&]<class T>() { chunk_forward_cpu<T>(lay, forward_args<T>(f)); });
    return Tensor();
  };
  impl.backward = [lay](const ForwardTensors& f, const Tensor&, GradTensors& gr) {
    dispatch_float(f.q, kOpName, [&]<class T>() {
      BackwardArgs<T> a;
      a.fwd = forward_args<T>(f);
      a.dout = gr.dout.data<T>();
      a.dstate_out = data_or_null<T>(gr.dstate_out);
      a.dq = gr.dq.data<T>(), a.dk = gr.dk.data<T>(), a.dv = gr.dv.data<T>(), a.dg = gr.dg.data<T>();
      a.dls = gr.dls.data<T>();
      a.dstate_in = mutable_or_null<T>(gr.dstate_in);
      chunk_backward_cpu<T>(lay, a);
    });
  };
  return impl;
}

}  // namespace loglin::lla

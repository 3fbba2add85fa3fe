// The chunked CPU code as an Implementation of the record path (record.h):
// the forward and the hand-written backward of chunk_*_cpu.cpp in the
// compute dtype (f32 or f64; g and the states in the same dtype).
#include "core/dispatch.h"
#include "ops/gated_delta_rule/cpu/chunk_cpu.h"
#include "ops/gated_delta_rule/record.h"

namespace loglin::gdr {
namespace {

template <class X>
const X* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<X>() : nullptr;
}
template <class X>
X* mutable_or_null(const Tensor& t) {
  return t.defined() ? t.data<X>() : nullptr;
}

template <class X>
ForwardArgs<X> forward_args(const ForwardTensors& f) {
  ForwardArgs<X> a;
  a.q = f.q.data<X>(), a.k = f.k.data<X>(), a.v = f.v.data<X>(), a.g = f.g.data<X>(), a.beta = f.beta.data<X>();
  a.ls = data_or_null<X>(f.ls);
  a.state_in = data_or_null<X>(f.state_in);
  a.o = mutable_or_null<X>(f.o);
  a.state_out = mutable_or_null<X>(f.state_out);
  return a;
}

}  // namespace

Implementation cpu_implementation(const lla::Layout& lay) {
  Implementation impl;
  impl.forward = [lay](const ForwardTensors& f) {
    dispatch_float(f.q, kVersionsOp, [&]<class X>() { chunk_forward_cpu<X>(lay, forward_args<X>(f)); });
    return Tensor();
  };
  impl.backward = [lay](const ForwardTensors& f, const Tensor&, GradTensors& gr) {
    dispatch_float(f.q, kVersionsOp, [&]<class X>() {
      BackwardArgs<X> a;
      a.fwd = forward_args<X>(f);
      a.dout = gr.dout.data<X>();
      a.dstate_out = data_or_null<X>(gr.dstate_out);
      a.dq = gr.dq.data<X>(), a.dk = gr.dk.data<X>(), a.dv = gr.dv.data<X>(), a.dg = gr.dg.data<X>();
      a.dbeta = gr.dbeta.data<X>();
      a.dls = mutable_or_null<X>(gr.dls);
      a.dstate_in = mutable_or_null<X>(gr.dstate_in);
      chunk_backward_cpu<X>(lay, a);
    });
  };
  return impl;
}

}  // namespace loglin::gdr

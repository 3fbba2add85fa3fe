// The record path of the gated delta rule (record.h), one for CPU and CUDA.
#include "ops/gated_delta_rule/record.h"

#include "autograd/node.h"

namespace loglin::gdr {
namespace {

// A contiguous tensor of dtype D with x's values and no history (undefined stays undefined).
Tensor prepared(const Tensor& x, DType D) {
  if (!x.defined()) return Tensor();
  if (x.is_contiguous() && x.dtype() == D) return x.detach();
  return core::contiguous_copy(x, D);
}

}  // namespace

GatedDeltaRuleOutput run_and_record(const char* op, const Implementation& impl, const lla::Layout& lay,
                                    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g,
                                    const Tensor& beta, const Tensor& level_scales, const GatedDeltaState* st,
                                    bool want_final) {
  // q, k (B,T,G,K); v (B,T,H,V); g, beta (B,T,H); level_scales (B,T,H,L) or undefined -> o (B,T,H,V).
  const DType D = q.dtype();
  const Device dev = q.device();
  const int64_t B = q.size(0), T = q.size(1), N = static_cast<int64_t>(lay.seqs.size());
  const int64_t Ls = level_scales.defined() ? lay.L : 1;
  ForwardTensors f;
  f.q = prepared(q, D), f.k = prepared(k, D), f.v = prepared(v, D), f.g = prepared(g, D);
  f.beta = prepared(beta, D), f.ls = prepared(level_scales, D);
  if (st) f.state_in = prepared(st->levels, D);
  f.o = Tensor::empty({B, T, lay.H, lay.V}, D, dev);
  if (want_final) f.state_out = Tensor::empty({N, lay.H, Ls, lay.K, lay.V}, D, dev);
  const Tensor kept = impl.forward(f);

  const Tensor state_levels = st ? st->levels : Tensor();
  autograd::record(
      op, {q, k, v, g, beta, level_scales, state_levels}, {f.o, f.state_out},
      [impl, saved = ForwardTensors{f.q, f.k, f.v, f.g, f.beta, f.ls, f.state_in, Tensor(), Tensor()}, kept,
       has_fin = f.state_out.defined(), g_dtype = g.dtype()](autograd::BackwardContext& ctx) {
        const ForwardTensors& f = saved;
        const DType D = f.q.dtype();
        const Device dev = f.q.device();
        GradTensors gr;
        gr.dout = prepared(ctx.grads[0], D);
        if (has_fin) gr.dstate_out = prepared(ctx.grads[1], D);
        gr.dq = Tensor::empty(f.q.shape(), D, dev), gr.dk = Tensor::empty(f.k.shape(), D, dev);
        gr.dv = Tensor::empty(f.v.shape(), D, dev), gr.dg = Tensor::empty(f.g.shape(), D, dev);
        gr.dbeta = Tensor::empty(f.beta.shape(), D, dev);
        if (f.ls.defined()) gr.dls = Tensor::empty(f.ls.shape(), D, dev);
        if (f.state_in.defined() && ctx.needs(6)) gr.dstate_in = Tensor::empty(f.state_in.shape(), D, dev);
        impl.backward(f, kept, gr);
        if (g_dtype != D) gr.dg = core::contiguous_copy(gr.dg, g_dtype);
        return std::vector<Tensor>{gr.dq, gr.dk, gr.dv, gr.dg, gr.dbeta, gr.dls, gr.dstate_in};
      });

  GatedDeltaRuleOutput out;
  out.o = f.o;
  if (want_final) {
    out.final_state.levels = f.state_out;
    for (const lla::Seq& s : lay.seqs) out.final_state.positions.push_back(s.pos + s.len);
  }
  return out;
}

}  // namespace loglin::gdr

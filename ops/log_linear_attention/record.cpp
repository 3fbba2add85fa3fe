// The record path of log-linear attention (record.h), one for CPU and CUDA.
#include "ops/log_linear_attention/record.h"

#include "autograd/node.h"
#include "ops/log_linear_attention/checks.h"

namespace loglin::lla {
namespace {

// A contiguous tensor of dtype D with x's values and no history.
Tensor prepared(const Tensor& x, DType D) {
  if (x.is_contiguous() && x.dtype() == D) return x.detach();
  return core::contiguous_copy(x, D);
}

}  // namespace

LogLinearAttentionOutput run_and_record(const Implementation& impl, const Layout& lay, DType D, const Tensor& q,
                                        const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& level_scales,
                                        const LogLinearState* st, bool want_final) {
  // q, k (B,T,G,K); v (B,T,H,V); g (B,T,H); level_scales (B,T,H,L) -> o (B,T,H,V).
  const DType DA = D == DType::bf16 ? DType::f32 : D;
  const int64_t B = q.size(0), T = q.size(1), N = static_cast<int64_t>(lay.seqs.size());
  const Device dev = q.device();
  ForwardTensors f;
  f.q = prepared(q, D), f.k = prepared(k, D), f.v = prepared(v, D), f.g = prepared(g, DA);
  f.ls = prepared(level_scales, D);
  if (st) f.state_in = prepared(st->levels, DA);
  f.o = Tensor::empty({B, T, lay.H, lay.V}, D, dev);
  if (want_final) f.state_out = Tensor::empty({N, lay.H, lay.L, lay.K, lay.V}, DA, dev);
  const Tensor kept = impl.forward(f);

  const Tensor state_levels = st ? st->levels : Tensor();
  autograd::record(
      kOpName, {q, k, v, g, level_scales, state_levels}, {f.o, f.state_out},
      [impl, saved = ForwardTensors{f.q, f.k, f.v, f.g, f.ls, f.state_in, f.o.detach(),
                                    f.state_out.defined() ? f.state_out.detach() : Tensor()},
       kept, D, DA, g_dtype = g.dtype()](autograd::BackwardContext& ctx) {
        const ForwardTensors& f = saved;
        const Device dev = f.q.device();
        GradTensors gr;
        gr.dout = prepared(ctx.grads[0], D);
        if (f.state_out.defined()) gr.dstate_out = prepared(ctx.grads[1], DA);
        gr.dq = Tensor::empty(f.q.shape(), D, dev), gr.dk = Tensor::empty(f.k.shape(), D, dev);
        gr.dv = Tensor::empty(f.v.shape(), D, dev), gr.dg = Tensor::empty(f.g.shape(), DA, dev);
        gr.dls = Tensor::empty(f.ls.shape(), D, dev);
        if (f.state_in.defined() && ctx.needs(5)) gr.dstate_in = Tensor::empty(f.state_in.shape(), DA, dev);
        impl.backward(f, kept, gr);
        if (g_dtype != DA) gr.dg = core::contiguous_copy(gr.dg, g_dtype);
        return std::vector<Tensor>{gr.dq, gr.dk, gr.dv, gr.dg, gr.dls, gr.dstate_in};
      });

  LogLinearAttentionOutput out;
  out.o = f.o;
  if (want_final) {
    out.final_state.levels = f.state_out;
    for (const Seq& s : lay.seqs) out.final_state.positions.push_back(s.pos + s.len);
  }
  return out;
}

}  // namespace loglin::lla

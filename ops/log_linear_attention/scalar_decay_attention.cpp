// The entry point of scalar-decay linear attention (log-linear attention
// with lambda == 1): input checks, dtype handling, the chunked CPU forward,
// and the autograd record whose backward runs the hand-written chunked
// backward. The layout (chunk_cpu.h) is the log-linear op's with L = 0.
#include "ops/log_linear_attention/scalar_decay_attention.h"

#include <cmath>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "ops/log_linear_attention/chunk_cpu.h"
#include "ops/op_checks.h"

namespace loglin {
namespace {

constexpr const char* kOpName = "scalar_decay_attention";

// Checks shapes, G | H, the chunk size, dtypes, finite g and cu_seqlens;
// returns the layout (L = 0: no levels).
lla::Layout check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& cu_seqlens,
                         int64_t chunk) {
  check_defined(kOpName, {&q, &k, &v, &g});
  for (const Tensor* t : {&q, &k, &v, &g}) check_cpu(kOpName, *t);
  check_dim(kOpName, q, 4, "q [B, T, G, K]");
  check_dim(kOpName, k, 4, "k [B, T, G, K]");
  check_dim(kOpName, v, 4, "v [B, T, H, V]");
  check_dim(kOpName, g, 3, "g [B, T, H]");
  const int64_t B = q.size(0), T = q.size(1), G = q.size(2), K = q.size(3);
  const int64_t H = v.size(2), V = v.size(3);
  LOGLIN_CHECK(k.shape() == q.shape(), "[{}] q and k must have the same shape [B, T, G, K], got {} and {}", kOpName,
               shape_str(q.shape()), shape_str(k.shape()));
  LOGLIN_CHECK(v.size(0) == B && v.size(1) == T, "[{}] v must be [B, T, H, V] with B = {}, T = {} as q, got {}",
               kOpName, B, T, shape_str(v.shape()));
  LOGLIN_CHECK(g.shape() == (Shape{B, T, H}), "[{}] g must be [B, T, H] = {}, got {}", kOpName,
               shape_str(Shape{B, T, H}), shape_str(g.shape()));
  LOGLIN_CHECK(B >= 1 && T >= 1, "[{}] need B >= 1 and T >= 1, got B = {}, T = {}", kOpName, B, T);
  LOGLIN_CHECK(K >= 1 && V >= 1 && G >= 1 && H >= 1, "[{}] need K, V, G, H >= 1, got K = {}, V = {}, G = {}, H = {}",
               kOpName, K, V, G, H);
  LOGLIN_CHECK(H % G == 0, "[{}] the q/k groups G = {} must divide the heads H = {}", kOpName, G, H);
  LOGLIN_CHECK(chunk >= 1 && (chunk & (chunk - 1)) == 0, "[{}] chunk size must be a power of two, got {}", kOpName,
               chunk);
  const DType D = q.dtype();
  LOGLIN_CHECK(D == DType::f32 || D == DType::f64, "[{}] q must be f32, f64 or bf16, got {}", kOpName, dtype_name(D));
  for (const auto& [t, name] : {std::pair{&k, "k"}, std::pair{&v, "v"}})
    LOGLIN_CHECK(t->dtype() == D, "[{}] {} is {} but q is {}: q, k and v must share one dtype", kOpName, name,
                 dtype_name(t->dtype()), dtype_name(D));
  LOGLIN_CHECK(g.dtype() == DType::f32 || (g.dtype() == DType::f64 && D == DType::f64),
               "[{}] g must be f32 (f64 only with f64 q, k, v), got {}", kOpName, dtype_name(g.dtype()));

  lla::Layout lay;
  lay.H = H, lay.G = G, lay.K = K, lay.V = V, lay.L = 0;
  lay.C = chunk;
  lay.c = lla::bit_length(chunk) - 1;
  lay.rows = B * T;
  if (cu_seqlens.defined()) {
    const std::vector<int64_t> cu = lla::read_cu_seqlens(kOpName, cu_seqlens, B, T);
    for (size_t i = 0; i + 1 < cu.size(); ++i) lay.seqs.push_back({cu[i], cu[i + 1] - cu[i], 0});
  } else {
    for (int64_t b = 0; b < B; ++b) lay.seqs.push_back({b * T, T, 0});
  }
  for (double x : g.to_vector<double>())
    LOGLIN_CHECK(std::isfinite(x), "[{}] g has a non-finite value ({}): the decays must be finite", kOpName, x);
  return lay;
}

// A contiguous tensor of dtype D with x's values and no history.
Tensor prepared(const Tensor& x, DType D) {
  if (x.is_contiguous() && x.dtype() == D) return x.detach();
  return core::contiguous_copy(x, D);
}

bool is_bf16(const Tensor& t) { return t.defined() && t.dtype() == DType::bf16; }

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
  const lla::Layout lay = check_inputs(q, k, v, g, options.cu_seqlens(), options.chunk_size());
  const DType D = q.dtype();
  const int64_t B = q.size(0), T = q.size(1);
  const Tensor qc = prepared(q, D), kc = prepared(k, D), vc = prepared(v, D), gc = prepared(g, D);
  Tensor o = Tensor::empty({B, T, lay.H, lay.V}, D);

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
        Tensor dq = Tensor::empty(qc.shape(), D), dk = Tensor::empty(kc.shape(), D);
        Tensor dv = Tensor::empty(vc.shape(), D), dg = Tensor::empty(gc.shape(), D);
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

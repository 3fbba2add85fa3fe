// Helpers shared by the log-linear attention tests: random inputs (never
// zeros), relative errors, and a report of the worst naive-vs-chunked errors
// (printed at exit when LOGLIN_LLA_REPORT is set).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "autograd/engine.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "ops/log_linear_attention/log_linear_attention.h"

namespace lla_test {

using namespace loglin;

struct Inputs {
  Tensor q, k, v, g, ls;
};

// L = 0 picks the smallest valid L for positions up to last_pos (default T - 1).
inline int64_t min_levels(int64_t last_pos) {
  int64_t b = 0;
  while ((int64_t{1} << b) <= last_pos) ++b;
  return b + 1;
}

// q, k, v ~ N(0, 1); g ~ U(-gmax, 0) (f32, or f64 with f64 inputs); level scales ~ U(0.5, 1.5).
inline Inputs random_inputs(Generator& gen, int64_t B, int64_t T, int64_t G, int64_t H, int64_t K, int64_t V,
                            int64_t L = 0, DType dt = DType::f32, double gmax = 0.02) {
  if (L == 0) L = min_levels(T - 1);
  Inputs in;
  in.q = randn({B, T, G, K}, dt, gen);
  in.k = randn({B, T, G, K}, dt, gen);
  in.v = randn({B, T, H, V}, dt, gen);
  in.g = rand({B, T, H}, -gmax, 0.0, dt == DType::f64 ? DType::f64 : DType::f32, gen);
  in.ls = rand({B, T, H, L}, 0.5, 1.5, dt, gen);
  return in;
}

inline Inputs with_grad(const Inputs& in) {
  Inputs out{in.q.clone().detach(), in.k.clone().detach(), in.v.clone().detach(), in.g.clone().detach(),
             in.ls.clone().detach()};
  for (Tensor* t : {&out.q, &out.k, &out.v, &out.g, &out.ls}) t->set_requires_grad(true);
  return out;
}

// ||a - b|| / ||b|| in double.
inline double rel_err(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  if (x.size() != y.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = x[i] - y[i];
    if (!std::isfinite(x[i])) return INFINITY;
    num += d * d;
    den += y[i] * y[i];
  }
  // A zero reference (dg at T = 1 is exactly 0) makes the error absolute.
  return den == 0 ? std::sqrt(num) : std::sqrt(num) / std::sqrt(den);
}

// The worst relative error seen per quantity ("o", "dq", ...), in f32 runs.
inline std::map<std::string, double>& worst() {
  static std::map<std::string, double> w;
  return w;
}
inline double note(const std::string& what, double err) {
  double& w = worst()[what];
  w = std::max(w, err);
  return err;
}

struct Reporter {
  Reporter() { worst(); }  // built first, so the map outlives this destructor
  ~Reporter() {
    if (!std::getenv("LOGLIN_LLA_REPORT") || worst().empty()) return;
    std::printf("\nworst naive-vs-chunked relative error (f32):\n| quantity | worst rel. err |\n|---|---|\n");
    for (const auto& [k, v] : worst()) std::printf("| %s | %.3g |\n", k.c_str(), v);
  }
};
inline Reporter reporter;

inline Tensor cu_tensor(const std::vector<int64_t>& cu) {
  return Tensor::from_vector(cu, {static_cast<int64_t>(cu.size())});
}

inline double norm_of(const Tensor& t) {
  double s = 0;
  for (double x : t.to_vector<double>()) s += x * x;
  return std::sqrt(s);
}

// ||a - b|| / max(||b||, floor); NaN (in the error or the floor) fails.
inline double dg_err_floor(const Tensor& a, const Tensor& b, double floor) {
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  if (va.size() != vb.size() || std::isnan(floor)) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < va.size(); ++i) d += (va[i] - vb[i]) * (va[i] - vb[i]);
  const double e = std::sqrt(d) / std::max(norm_of(b), floor);
  return std::isnan(e) ? INFINITY : e;
}

// dg is a difference of two equal-sized sums (do.o - v.dv); where they cancel
// (T = 1 gives exactly 0) relative error measures rounding noise, so the
// error is taken against at least a thousandth of dv's norm.
inline double dg_err(const Tensor& a, const Tensor& b, const Tensor& dv) {
  return dg_err_floor(a, b, 1e-3 * norm_of(dv));
}

// The scale of the terms that dg sums: sqrt(sum over rows t and heads h of
// (|do_{t,h}| |o_{t,h}|)^2), |.| the norm over V, from a reference run's o
// [..., V] and the output gradient do it was run with. As the floor of
// dg_err_floor it follows the rounding of o: with bf16 outputs the do.o and
// v.dv terms still cancel (exactly at T = 1) but o's rounding does not, and
// that error is a fraction of these terms, not of ||dv||.
inline double dg_terms_norm(const Tensor& o, const Tensor& dout) {
  const std::vector<double> vo = o.to_vector<double>(), vd = dout.to_vector<double>();
  if (vo.size() != vd.size() || o.dim() == 0) return NAN;  // fails dg_err_floor
  const size_t V = static_cast<size_t>(o.size(o.dim() - 1));
  double s = 0;
  for (size_t r = 0; V > 0 && r < vo.size(); r += V) {
    double no = 0, nd = 0;
    for (size_t i = r; i < r + V; ++i) no += vo[i] * vo[i], nd += vd[i] * vd[i];
    s += no * nd;
  }
  return std::sqrt(s);
}

// The outputs and every gradient of one forward + backward, on the CPU.
struct Run {
  Tensor o, fin, dq, dk, dv, dg, dls, dstate;
};

inline Tensor on_cpu(const Tensor& t) { return t.defined() ? t.to(Device::cpu()) : Tensor(); }

// Forward and backward of sum(o * dout) (+ sum(final * dfin)) on `dev`. q, k,
// v, level_scales and dout in `dt`; g, the initial state (at `positions`) and
// dfin in the compute type (f32 for bf16 inputs, else dt). `opt` carries the
// chunk size and cu_seqlens; the state options are set here.
inline Run run_fwd_bwd(const Inputs& in, DType dt, Device dev, LogLinearAttentionOptions opt, const Tensor& state,
                       const std::vector<int64_t>& positions, const Tensor& dout, const Tensor& dfin) {
  const DType ct = dt == DType::bf16 ? DType::f32 : dt;
  auto leaf = [&](const Tensor& t, DType d) {
    Tensor x = t.to(d).to(dev).detach();
    x.set_requires_grad(true);
    return x;
  };
  Tensor q = leaf(in.q, dt), k = leaf(in.k, dt), v = leaf(in.v, dt), g = leaf(in.g, ct), ls = leaf(in.ls, dt);
  Tensor st;
  if (state.defined()) {
    st = leaf(state, ct);
    opt.initial_state({st, positions});
  }
  if (dfin.defined()) opt.return_final_state();
  const LogLinearAttentionOutput out = log_linear_attention_with_state(q, k, v, g, ls, opt);
  std::vector<Tensor> roots{out.o}, grads{dout.to(dt).to(dev)};
  if (dfin.defined()) {
    roots.push_back(out.final_state.levels);
    grads.push_back(dfin.to(ct).to(dev));
  }
  autograd::backward(roots, grads);
  Run r;
  r.o = on_cpu(out.o);
  r.fin = dfin.defined() ? on_cpu(out.final_state.levels) : Tensor();
  r.dq = on_cpu(q.grad()), r.dk = on_cpu(k.grad()), r.dv = on_cpu(v.grad()), r.dg = on_cpu(g.grad());
  r.dls = on_cpu(ls.grad());
  r.dstate = st.defined() ? on_cpu(st.grad()) : Tensor();
  return r;
}

}  // namespace lla_test

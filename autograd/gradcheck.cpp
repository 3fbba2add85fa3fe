#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "core/rng.h"

namespace loglin {
namespace {

double projected(const Tensor& y, const std::vector<double>& r) {
  std::vector<double> v = y.to_vector<double>();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * r[i];
  return s;
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, const GradcheckOptions& opt) {
  // Fresh contiguous leaves so the caller's tensors are never touched.
  std::vector<Tensor> x;
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    bool check = in.requires_grad();
    if (check)
      LOGLIN_CHECK(in.dtype() == DType::f64, "[gradcheck] input {} is {}; gradcheck needs f64 inputs", i,
                   dtype_name(in.dtype()));
    Tensor leaf;
    if (opt.in_place) {
      LOGLIN_CHECK(in.is_leaf() && in.is_contiguous() && in.dtype() == DType::f64,
                   "[gradcheck] in_place needs contiguous f64 leaf inputs; input {} is not", i);
      leaf = in;
      leaf.zero_grad();
    } else {
      leaf = core::contiguous_copy(in);
      if (check) leaf.set_requires_grad(true);
    }
    any |= check;
    x.push_back(leaf);
  }
  LOGLIN_CHECK(any, "[gradcheck] no input has requires_grad set: nothing to check");

  Tensor y = fn(x);
  LOGLIN_CHECK(y.defined() && y.dtype() == DType::f64, "[gradcheck] the function must return an f64 tensor");
  Generator gen(opt.seed);
  Tensor r = randn(y.shape(), DType::f64, gen);
  std::vector<double> rv = r.to_vector<double>();
  y.backward(r);

  GradcheckResult res;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!x[i].requires_grad()) continue;
    GradcheckInputReport rep;
    rep.index = i;
    rep.shape = x[i].shape();
    std::vector<double> analytic =
        x[i].grad().defined() ? x[i].grad().to_vector<double>() : std::vector<double>(x[i].numel(), 0.0);
    std::vector<double> numeric(x[i].numel());
    {
      NoGradGuard no_grad;
      double* p = x[i].data<double>();
      for (int64_t j = 0; j < x[i].numel(); ++j) {
        double orig = p[j];
        p[j] = orig + opt.eps;
        double lp = projected(fn(x), rv);
        p[j] = orig - opt.eps;
        double lm = projected(fn(x), rv);
        p[j] = orig;
        numeric[j] = (lp - lm) / (2 * opt.eps);
      }
    }
    double scale = 0;
    for (double n : numeric) scale = std::max(scale, std::abs(n));
    for (size_t j = 0; j < numeric.size(); ++j) {
      double err = std::abs(analytic[j] - numeric[j]);
      bool ok = std::isfinite(analytic[j]) && err <= opt.atol + opt.rtol * std::abs(numeric[j]);
      if (!std::isfinite(err)) err = INFINITY;
      if (!ok && rep.passed) {
        res.message += fmt::format("input {} element {}: analytic {:.8g} vs numeric {:.8g}; ", i, j, analytic[j],
                                   numeric[j]);
      }
      rep.passed &= ok;
      rep.max_abs_err = std::max(rep.max_abs_err, err);
    }
    rep.max_rel_err = rep.max_abs_err / std::max(scale, 1e-12);
    res.passed &= rep.passed;
    res.max_abs_err = std::max(res.max_abs_err, rep.max_abs_err);
    res.max_rel_err = std::max(res.max_rel_err, rep.max_rel_err);
    res.inputs.push_back(rep);
  }
  return res;
}

}  // namespace loglin

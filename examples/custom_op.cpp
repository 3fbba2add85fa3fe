// Defining a differentiable op outside the library: a forward on raw data
// and a hand-written backward recorded with autograd::record, then checked
// with gradcheck. The op is a "soft clip": y = c * tanh(x / c).
#include <loglin/loglin.h>

#include <cmath>
#include <iostream>

using namespace loglin;

// x: any shape, f32 or f64.
Tensor soft_clip(const Tensor& x, double c) {
  Tensor xc = x.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_float(x, "soft_clip", [&]<class T>() {
    const T* in = xc.data<T>();
    T* out = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) out[i] = static_cast<T>(c * std::tanh(in[i] / c));
  });
  // dy/dx = 1 - tanh(x/c)^2 = 1 - (y/c)^2. Save y detached: saving an output
  // together with its own history would keep the graph alive forever.
  autograd::record("soft_clip", {x}, {y}, [y = y.detach(), c](autograd::BackwardContext& ctx) {
    Tensor t = y / c;
    return std::vector<Tensor>{ctx.grads[0] * (1.0 - t * t)};
  });
  return y;
}

int main() {
  manual_seed(1);
  Tensor x = (3.0 * randn({3, 4}, DType::f64)).set_requires_grad(true);
  GradcheckResult r = gradcheck([](const std::vector<Tensor>& in) { return soft_clip(in[0], 2.0); }, {x});
  std::cout << "soft_clip gradcheck: " << (r.passed ? "passed" : "FAILED") << " (max abs err " << r.max_abs_err
            << ", max rel err " << r.max_rel_err << ")\n";

  // And a deliberately wrong backward is caught:
  auto wrong = [](const std::vector<Tensor>& in) {
    Tensor y = soft_clip(in[0], 2.0).detach();
    autograd::record("wrong", {in[0]}, {y}, [](autograd::BackwardContext& ctx) {
      return std::vector<Tensor>{ctx.grads[0]};  // pretends dy/dx = 1
    });
    return y;
  };
  GradcheckResult bad = gradcheck(wrong, {x});
  std::cout << "wrong backward detected: " << (!bad.passed ? "yes" : "NO") << "\n";
  return r.passed && !bad.passed ? 0 : 1;
}

// Tensors, ops and backward, then a gradcheck of a function of your own.
#include <loglin/loglin.h>

#include <iostream>

using namespace loglin;

int main() {
  manual_seed(0);
  Tensor x = randn({4, 3});                         // data: no gradient
  Tensor w = randn({3, 2}).set_requires_grad(true);  // a leaf we train
  Tensor b = Tensor::zeros({2}).set_requires_grad(true);

  Tensor h = tanh(matmul(x, w) + b);  // b broadcasts over the rows
  Tensor loss = mean(h * h);
  loss.backward();

  std::cout << "loss = " << loss.item() << "\n";
  std::cout << "dloss/dw = " << w.grad() << "\n";

  // gradcheck works on any function built from loglin ops (inputs in f64).
  auto swish_norm = [](const std::vector<Tensor>& in) {
    Tensor y = silu(in[0]) * in[1];
    return y / sqrt(sum(y * y, {-1}, /*keepdim=*/true) + 1e-3);
  };
  Tensor a = randn({2, 5}, DType::f64).set_requires_grad(true);
  Tensor s = randn({5}, DType::f64).set_requires_grad(true);
  GradcheckResult r = gradcheck(swish_norm, {a, s});
  std::cout << "gradcheck " << (r.passed ? "passed" : "FAILED") << ", max abs err " << r.max_abs_err << "\n";
  return r.passed ? 0 : 1;
}

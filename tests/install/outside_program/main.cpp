// Uses the installed headers and library: y = sum(w * x), dy/dw = x.
#include <loglin/loglin.h>

#include <cmath>
#include <cstdio>

int main() {
  using namespace loglin;
  Tensor x = Tensor::from_vector<float>({1, 2, 3}, {3});
  Tensor w = Tensor::from_vector<float>({0.5f, -1, 2}, {3});
  w.set_requires_grad(true);
  Tensor y = sum(w * x);
  y.backward();
  std::vector<float> g = w.grad().to_vector<float>();
  bool ok = std::abs(y.item() - 4.5) < 1e-6 && g == std::vector<float>{1, 2, 3};
  std::printf(ok ? "outside program ok\n" : "outside program WRONG\n");
  return ok ? 0 : 1;
}

// The elementwise ops on CUDA against the CPU path at realistic and awkward
// sizes: every unary op forward and backward, the binary ops on each kernel
// path (contiguous, vectorised and not; a row broadcast over rows; general
// broadcasting and strided views) forward and backward, the scalar forms.
#include <functional>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

Tensor on_gpu(const Tensor& t) { return t.to(Device::cuda()).detach(); }
Tensor on_cpu(const Tensor& t) { return t.to(Device::cpu()); }
double tol_for(DType d) { return d == DType::f64 ? 1e-10 : 2e-5; }

struct UnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> f;
  double lo, hi;
};

std::vector<UnaryCase> unary_cases() {
  return {{"neg", [](const Tensor& x) { return neg(x); }, -3, 3},
          {"exp", [](const Tensor& x) { return exp(x); }, -3, 3},
          {"log", [](const Tensor& x) { return log(x); }, 0.1, 5},
          {"sqrt", [](const Tensor& x) { return sqrt(x); }, 0.1, 5},
          {"pow", [](const Tensor& x) { return pow(x, 2.5); }, 0.1, 3},
          {"pow -1", [](const Tensor& x) { return pow(x, -1.0); }, 0.5, 3},
          {"tanh", [](const Tensor& x) { return tanh(x); }, -4, 4},
          {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, -8, 8},
          {"relu", [](const Tensor& x) { return relu(x); }, -3, 3},
          {"silu", [](const Tensor& x) { return silu(x); }, -6, 6},
          {"gelu", [](const Tensor& x) { return gelu(x); }, -6, 6},
          {"softplus", [](const Tensor& x) { return softplus(x); }, -20, 20},
          {"add scalar", [](const Tensor& x) { return add(x, 2.5); }, -3, 3},
          {"mul scalar", [](const Tensor& x) { return mul(x, -1.5); }, -3, 3},
          {"rsub scalar", [](const Tensor& x) { return 1.0 - x; }, -3, 3}};
}

using View = std::function<Tensor(const Tensor&)>;
Tensor same(const Tensor& t) { return t; }

// y = f(view(x)) and the gradient of x for the upstream gradient w, with x
// and w copied to the GPU when `gpu`. The view is taken on that device, so a
// strided or offset view reaches the kernels as one.
std::pair<Tensor, Tensor> run_unary(const UnaryCase& c, const Tensor& x, const View& view, const Tensor& w, bool gpu) {
  Tensor xd = gpu ? on_gpu(x) : x.detach();
  xd.set_requires_grad(true);
  Tensor y = c.f(view(xd));
  y.backward(gpu ? on_gpu(w) : w);
  return {on_cpu(y), on_cpu(xd.grad())};
}

// f(view_a(a), view_b(b)) and both gradients, GPU against CPU.
void check_binary(const char* what, const std::function<Tensor(const Tensor&, const Tensor&)>& f, const Tensor& a,
                  const Tensor& b, double tol, const View& view_a = same, const View& view_b = same) {
  Generator gen(11);
  Tensor ac = a.detach().set_requires_grad(true), bc = b.detach().set_requires_grad(true);
  Tensor yc = f(view_a(ac), view_b(bc));
  Tensor w = randn(yc.shape(), a.dtype(), gen);
  yc.backward(w);
  Tensor ag = on_gpu(a).set_requires_grad(true), bg = on_gpu(b).set_requires_grad(true);
  Tensor yg = f(view_a(ag), view_b(bg));
  CHECK(yg.device().is_cuda());
  yg.backward(on_gpu(w));
  INFO(what << " a " << shape_str(yc.shape()) << " from " << shape_str(a.shape()) << " b " << shape_str(b.shape())
            << " " << dtype_name(a.dtype()));
  CHECK(rel_err(on_cpu(yg), yc) <= tol);
  CHECK(rel_err(on_cpu(ag.grad()), ac.grad()) <= tol);
  CHECK(rel_err(on_cpu(bg.grad()), bc.grad()) <= tol);
}

const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>>& binary_ops() {
  static const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }},
      {"mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }},
      {"div", [](const Tensor& a, const Tensor& b) { return div(a, b); }}};
  return ops;
}

}  // namespace

TEST_CASE("cuda: every unary op matches the cpu forward and backward", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  // 4096 x 768 takes the vectorised path; 1000003 leaves a scalar tail; the
  // 1-element offset view of it is misaligned for vector loads; 3 is shorter
  // than one vector.
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const UnaryCase& c : unary_cases()) {
      for (int variant = 0; variant < 4; ++variant) {
        Generator gen(100 + variant);
        Shape shape = variant == 0 ? Shape{4096, 768} : variant == 3 ? Shape{3} : Shape{1000003};
        Tensor x = rand(shape, c.lo, c.hi, dtype, gen);
        View view = variant == 2 ? View([](const Tensor& t) { return t.narrow(0, 1, 1000002); }) : View(same);
        Tensor w = randn(view(x).shape(), dtype, gen);
        auto [yc, gc] = run_unary(c, x, view, w, false);
        auto [yg, gg] = run_unary(c, x, view, w, true);
        INFO(c.name << " " << shape_str(x.shape()) << " variant " << variant << " " << dtype_name(dtype));
        CHECK(rel_err(yg, yc) <= tol_for(dtype));
        CHECK(rel_err(gg, gc) <= tol_for(dtype));
      }
    }
  }
}

TEST_CASE("cuda: unary ops on a transposed view", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(5);
  const View transposed = [](const Tensor& t) { return t.transpose(0, 1); };
  for (const UnaryCase& c : unary_cases()) {
    Tensor x = rand({768, 1000}, c.lo, c.hi, DType::f32, gen);
    Tensor w = randn({1000, 768}, DType::f32, gen);
    auto [yc, gc] = run_unary(c, x, transposed, w, false);
    auto [yg, gg] = run_unary(c, x, transposed, w, true);
    INFO(c.name);
    CHECK(yg.shape() == Shape{1000, 768});
    CHECK(rel_err(yg, yc) <= 2e-5);
    CHECK(rel_err(gg, gc) <= 2e-5);
  }
}

TEST_CASE("cuda: binary ops broadcast like the cpu, forward and backward", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  struct Shapes {
    Shape a, b;
  };
  const std::vector<Shapes> shapes = {
      {{4096, 768}, {4096, 768}},   // contiguous, vectorised
      {{1000003}, {1000003}},       // contiguous with a tail
      {{4096, 768}, {768}},         // bias-like row, vectorised
      {{768}, {4096, 768}},         // the row on the left
      {{2, 2048, 768}, {768}},      // leading dims merge into rows
      {{4095, 767}, {767}},         // a row too odd for vector loads
      {{7, 13, 33}, {13, 1}},       // general broadcasting
      {{4096, 1}, {1, 768}},        // an outer product
      {{4096, 768}, {4096, 1}},     // a column
      {{1000003}, {}},              // a scalar tensor
      {{}, {3, 5}},
  };
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const auto& [name, f] : binary_ops()) {
      for (const Shapes& s : shapes) {
        Generator gen(7);
        Tensor a = randn(s.a, dtype, gen);
        // div's right side stays away from 0.
        Tensor b = std::string(name) == "div" ? rand(s.b, 0.5, 2.0, dtype, gen) : randn(s.b, dtype, gen);
        check_binary(name, f, a, b, tol_for(dtype));
      }
    }
  }
}

TEST_CASE("cuda: binary ops on strided views", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(9);
  Tensor x = randn({768, 1024}, DType::f32, gen);
  Tensor y = rand({1024, 768}, 0.5, 2.0, DType::f32, gen);
  for (const auto& [name, f] : binary_ops()) {
    // A transposed left side against a contiguous right one, then a sliced
    // (every other column) left side against a row.
    check_binary(name, f, x, y, 2e-5, [](const Tensor& t) { return t.transpose(0, 1); });
    check_binary(name, f, x, rand({512}, 0.5, 2.0, DType::f32, gen), 2e-5,
                 [](const Tensor& t) { return t.slice(1, 0, 1024, 2); });
    // Both sides strided, the right one an offset row.
    check_binary(name, f, x, rand({2, 1024}, 0.5, 2.0, DType::f32, gen), 2e-5,
                 [](const Tensor& t) { return t.transpose(0, 1); },
                 [](const Tensor& t) { return t.select(0, 1).unsqueeze(1); });
  }
}

TEST_CASE("cuda: binary ops on narrowed views against a per-row scale", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  // Mamba-2's x * dt: x a narrow of the last dim of a wider projection,
  // reshaped to [B, T, H, P], times dt [B, T, H, 1]. Start 0 and 4 keep the
  // 16-byte packs aligned (the vectorised inner-dim path); start 2 does not,
  // and P = 6 is not a whole number of packs (both take the general path).
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const auto& [start, P] : std::vector<std::pair<int64_t, int64_t>>{{0, 64}, {4, 64}, {2, 64}, {0, 6}}) {
      Generator gen(13);
      const int64_t H = 5, W = start + H * P + 7;
      Tensor wide = randn({2, 33, W}, dtype, gen);
      Tensor scale = rand({2, 33, H, 1}, 0.5, 2.0, dtype, gen);
      const View piece = [start, H, P](const Tensor& t) { return t.narrow(-1, start, H * P).reshape({2, 33, H, P}); };
      for (const auto& [name, f] : binary_ops()) {
        check_binary(name, f, wide, scale, tol_for(dtype), piece);
        check_binary(name, f, scale, wide, tol_for(dtype), same, piece);
      }
    }
  }
}

TEST_CASE("cuda: elementwise ops keep tensors on the device and reject mixed devices", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor a = on_gpu(randn({4, 5}));
  CHECK((a + a).device().is_cuda());
  CHECK(exp(a).device().is_cuda());
  CHECK((a * 2.0).device().is_cuda());
  LL_CHECK_ERROR(add(a, randn({4, 5})), "[add]");
  // Empty tensors launch nothing and come back empty.
  Tensor e = Tensor::zeros({0, 5}, DType::f32, Device::cuda());
  CHECK((e + e).numel() == 0);
  CHECK(tanh(e).numel() == 0);
}

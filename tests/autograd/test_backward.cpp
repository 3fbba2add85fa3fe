// The backward engine: leaves and non-leaves, scalar and non-scalar roots,
// accumulation, diamonds, reuse, broadcasting, freed graphs.
#include <cmath>
#include <vector>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::max_abs_diff;

namespace {

Tensor leaf(const std::vector<double>& v, const Shape& shape) {
  return Tensor::from_vector<double>(v, shape).set_requires_grad(true);
}

std::vector<double> grad_of(const Tensor& t) {
  REQUIRE(t.grad().defined());
  return t.grad().to_vector<double>();
}

}  // namespace

TEST_CASE("requires_grad propagates through ops", "[autograd]") {
  Tensor a = Tensor::ones({2, 3}).set_requires_grad(true);
  Tensor b = Tensor::ones({2, 3});
  CHECK(a.requires_grad());
  CHECK_FALSE(b.requires_grad());
  CHECK((a + b).requires_grad());
  CHECK((b * a).requires_grad());
  CHECK_FALSE((b * b).requires_grad());
  CHECK_FALSE(exp(b).requires_grad());
  CHECK(a.sum().requires_grad());
  CHECK(a.transpose(0, 1).requires_grad());
  CHECK(tanh(a).matmul(b.transpose(0, 1)).requires_grad());
  CHECK(a.set_requires_grad(false).requires_grad() == false);
  CHECK_FALSE((a + b).requires_grad());
}

TEST_CASE("leaves have no grad_fn, op results do", "[autograd]") {
  Tensor x = Tensor::ones({3}).set_requires_grad(true);
  Tensor c = Tensor::ones({3});
  CHECK(x.is_leaf());
  CHECK(c.is_leaf());
  CHECK(x.grad_fn() == nullptr);
  Tensor y = x * 2.0;
  CHECK_FALSE(y.is_leaf());
  REQUIRE(y.grad_fn() != nullptr);
  CHECK(y.grad_fn()->name() == "mul_scalar");
  Tensor z = x + c;
  REQUIRE(z.grad_fn() != nullptr);
  CHECK(z.grad_fn()->name() == "add");
  REQUIRE(z.grad_fn()->next_edges().size() == 2);
  CHECK(z.grad_fn()->next_edges()[0].fn != nullptr);  // x: AccumulateGrad
  CHECK(z.grad_fn()->next_edges()[0].fn->name() == "AccumulateGrad");
  CHECK(z.grad_fn()->next_edges()[1].fn == nullptr);  // c needs no gradient
  CHECK((c * c).is_leaf());                            // no history without requires_grad
  CHECK(y.detach().is_leaf());
  CHECK_FALSE(y.detach().requires_grad());
}

TEST_CASE("backward on a scalar fills leaf gradients", "[autograd]") {
  Tensor x = leaf({1, -2, 3}, {3});
  Tensor y = (x * x).sum();  // dy/dx = 2x
  CHECK(y.dim() == 0);
  y.backward();
  CHECK(grad_of(x) == std::vector<double>{2, -4, 6});
  CHECK(x.grad().shape() == x.shape());
  CHECK(x.grad().dtype() == DType::f64);
  CHECK_FALSE(x.grad().requires_grad());
  CHECK_FALSE(y.grad().defined());  // non-leaves keep no gradient

  // A 1-element tensor that is not 0-dim works too.
  Tensor w = leaf({2}, {1, 1});
  (w * 3.0).backward();
  CHECK(grad_of(w) == std::vector<double>{3});
}

TEST_CASE("backward with a given gradient on a non-scalar", "[autograd]") {
  Tensor x = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = x * 3.0;
  Tensor g = Tensor::from_vector<double>({1, 0, -1, 2, 0.5, 10}, {2, 3});
  y.backward(g);
  CHECK(grad_of(x) == std::vector<double>{3, 0, -3, 6, 1.5, 30});

  SECTION("a gradient of another float dtype is converted") {
    Tensor x2 = leaf({1, 2}, {2});
    (x2 * 2.0).backward(Tensor::from_vector<float>({1, 1}, {2}));
    CHECK(x2.grad().dtype() == DType::f64);
    CHECK(grad_of(x2) == std::vector<double>{2, 2});
  }
  SECTION("backward from a leaf itself copies the gradient") {
    Tensor x3 = leaf({1, 2}, {2});
    Tensor g3 = Tensor::from_vector<double>({5, 6}, {2});
    x3.backward(g3);
    CHECK(grad_of(x3) == std::vector<double>{5, 6});
    g3.data<double>()[0] = -1;  // the leaf's gradient does not alias g
    CHECK(grad_of(x3) == std::vector<double>{5, 6});
  }
}

TEST_CASE("backward errors are clear", "[autograd]") {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor y = x * 2.0;
  LL_CHECK_ERROR(y.backward(), "[backward]");
  LL_CHECK_ERROR(y.backward(), "gradient must be given");
  LL_CHECK_ERROR(y.backward(Tensor::ones({2}, DType::f64)), "[backward]");
  LL_CHECK_ERROR(y.backward(Tensor::ones({3, 1}, DType::f64)), "[3]");
  Tensor c = Tensor::ones({3});
  LL_CHECK_ERROR(c.sum().backward(), "[backward]");
  LL_CHECK_ERROR(c.sum().backward(), "does not require grad");
  CHECK_FALSE(x.grad().defined());  // nothing ran
  LL_CHECK_ERROR(autograd::backward({y}, {}), "[backward]");
}

TEST_CASE("gradients accumulate in leaves until zero_grad", "[autograd]") {
  Tensor x = leaf({1, 2}, {2});
  (x * 3.0).sum().backward();
  CHECK(grad_of(x) == std::vector<double>{3, 3});
  (x * x).sum().backward();  // + 2x
  CHECK(grad_of(x) == std::vector<double>{5, 7});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  (x * 5.0).sum().backward();
  CHECK(grad_of(x) == std::vector<double>{5, 5});

  // set_grad replaces; its shape is checked.
  x.set_grad(Tensor::zeros({2}, DType::f64));
  (x * 1.0).sum().backward();
  CHECK(grad_of(x) == std::vector<double>{1, 1});
  LL_CHECK_ERROR(x.set_grad(Tensor::zeros({3}, DType::f64)), "[set_grad]");
  x.set_grad(Tensor());
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("a diamond graph sums both paths", "[autograd]") {
  // a = 2x, b = 3x, y = a*b = 6x^2: dy/dx = 12x
  Tensor x = leaf({0.5, -1, 2}, {3});
  Tensor a = x * 2.0;
  Tensor b = x * 3.0;
  Tensor y = (a * b).sum();
  y.backward();
  CHECK(max_abs_diff(grad_of(x), {6, -12, 24}) < 1e-12);

  // A tensor used twice in one op.
  Tensor z = leaf({3}, {1});
  (z * z * z).backward();  // 3 z^2
  CHECK(max_abs_diff(grad_of(z), {27}) < 1e-12);
}

TEST_CASE("a deeper graph with reuse matches the chain rule", "[autograd]") {
  std::vector<double> xv{-1.5, -0.2, 0.0, 0.7, 2.0, 3.1};
  Tensor x = leaf(xv, {2, 3});
  Tensor t = tanh(x);
  Tensor z = t * t + t * x + exp(t);  // t and x used several times
  Tensor w = (z / (x * x + 1.0)).sum();
  w.backward();
  std::vector<double> expected;
  for (double v : xv) {
    double tv = std::tanh(v), dt = 1 - tv * tv;
    double zv = tv * tv + tv * v + std::exp(tv);
    double dz = (2 * tv + v + std::exp(tv)) * dt + tv;
    double q = v * v + 1;
    expected.push_back(dz / q - zv * 2 * v / (q * q));
  }
  CHECK(max_abs_diff(grad_of(x), expected) < 1e-12);
}

TEST_CASE("several roots at once", "[autograd]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y1 = x * 2.0, y2 = x * x;
  autograd::backward({y1, y2}, {Tensor::ones({2}, DType::f64), Tensor::full({2}, 0.5, DType::f64)});
  CHECK(grad_of(x) == std::vector<double>{3, 4});  // 2 + 0.5 * 2x
}

TEST_CASE("broadcasting gradients reduce to each input's shape", "[autograd]") {
  Tensor a = leaf({1, 2, 3}, {3, 1});
  Tensor b = leaf({10, 20, 30, 40}, {1, 4});

  SECTION("add") {
    Tensor y = a + b;
    CHECK(y.shape() == Shape{3, 4});
    y.sum().backward();
    CHECK(a.grad().shape() == Shape{3, 1});
    CHECK(b.grad().shape() == Shape{1, 4});
    CHECK(grad_of(a) == std::vector<double>{4, 4, 4});
    CHECK(grad_of(b) == std::vector<double>{3, 3, 3, 3});
  }
  SECTION("mul") {
    (a * b).sum().backward();
    CHECK(grad_of(a) == std::vector<double>{100, 100, 100});  // sum of b
    CHECK(grad_of(b) == std::vector<double>{6, 6, 6, 6});      // sum of a
  }
  SECTION("sub with a lower-rank operand") {
    Tensor c = leaf({1, 1, 1, 1}, {4});
    Tensor y = a - c;  // [3,1] - [4] -> [3,4]
    y.backward(Tensor::ones({3, 4}, DType::f64));
    CHECK(c.grad().shape() == Shape{4});
    CHECK(grad_of(c) == std::vector<double>{-3, -3, -3, -3});
    CHECK(grad_of(a) == std::vector<double>{4, 4, 4});
  }
}

TEST_CASE("gradients flow through views into the base's layout", "[autograd]") {
  Tensor x = Tensor::arange(12, DType::f64).reshape({3, 4}).detach().set_requires_grad(true);
  // transpose -> [4,3]; rows 1..2 step 1 -> x[:,1..2]; weight each element differently
  Tensor v = x.transpose(0, 1).slice(0, 1, 3);
  Tensor wgt = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  (v * wgt).sum().backward();
  // v[i][j] = x[j][i+1], so dx[j][i+1] = wgt[i][j]
  CHECK(grad_of(x) == std::vector<double>{0, 1, 4, 0, 0, 2, 5, 0, 0, 3, 6, 0});
  x.zero_grad();
  (x.select(1, 2).expand({2, 3}) * 1.0).sum().backward();  // column 2, used twice
  CHECK(grad_of(x) == std::vector<double>{0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0});
}

TEST_CASE("detach stops the gradient", "[autograd]") {
  Tensor x = leaf({1, 2, 3}, {3});
  Tensor d = x.detach();
  CHECK(d.shares_storage_with(x));
  CHECK_FALSE(d.requires_grad());
  CHECK(d.is_leaf());
  Tensor y = (d * x + x).sum();  // only the x paths: d + 1
  y.backward();
  CHECK(grad_of(x) == std::vector<double>{2, 3, 4});
  CHECK_FALSE(d.grad().defined());
  // A detached non-leaf is a fresh leaf.
  Tensor m = x * 2.0;
  Tensor md = m.detach();
  CHECK(md.grad_fn() == nullptr);
  CHECK(m.grad_fn() != nullptr);
}

TEST_CASE("a second backward through a freed graph fails, retain_graph allows it", "[autograd]") {
  Tensor x = leaf({1, 2}, {2});
  SECTION("freed") {
    Tensor y = (tanh(x) * x).sum();
    y.backward();
    std::vector<double> once = grad_of(x);
    LL_CHECK_ERROR(y.backward(), "[autograd]");
    LL_CHECK_ERROR(y.backward(), "retain_graph");
    CHECK(grad_of(x) == once);  // the failed call added nothing
  }
  SECTION("retained") {
    Tensor y = (x * x).sum();
    y.backward(Tensor(), /*retain_graph=*/true);
    CHECK(grad_of(x) == std::vector<double>{2, 4});
    y.backward(Tensor(), true);
    CHECK(grad_of(x) == std::vector<double>{4, 8});
    y.backward();  // the last one may free it
    CHECK(grad_of(x) == std::vector<double>{6, 12});
    LL_CHECK_ERROR(y.backward(), "retain_graph");
  }
}

TEST_CASE("set_requires_grad is for floating leaves only", "[autograd]") {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  Tensor y = x * 2.0;
  LL_CHECK_ERROR(y.set_requires_grad(true), "[requires_grad]");
  LL_CHECK_ERROR(y.set_requires_grad(false), "leaf");
  CHECK(y.requires_grad());

  Tensor i = Tensor::arange(3);
  LL_CHECK_ERROR(i.set_requires_grad(true), "[requires_grad]");
  LL_CHECK_ERROR(Tensor::zeros({2}, DType::i32).set_requires_grad(), "i32");
  CHECK_FALSE(i.requires_grad());
  CHECK_NOTHROW(i.set_requires_grad(false));
  CHECK(Tensor::zeros({2}, DType::bf16).set_requires_grad().requires_grad());
  CHECK(Tensor::zeros({2}, DType::f64).set_requires_grad().requires_grad());
}

namespace {

// A custom two-output op, y1 = 2x and y2 = 3x, that records what its backward saw.
struct SeenGrads {
  std::vector<double> g1, g2;
};

std::pair<Tensor, Tensor> twice_thrice(const Tensor& x, SeenGrads* seen) {
  Tensor y1, y2;
  {
    NoGradGuard ng;
    y1 = x * 2.0;
    y2 = x * 3.0;
  }
  autograd::record("twice_thrice", {x}, {y1, y2}, [seen](autograd::BackwardContext& ctx) {
    seen->g1 = ctx.grads[0].to_vector<double>();
    seen->g2 = ctx.grads[1].to_vector<double>();
    return std::vector<Tensor>{ctx.grads[0] * 2.0 + ctx.grads[1] * 3.0};
  });
  return {y1, y2};
}

}  // namespace

TEST_CASE("multi-output nodes get zeros for outputs that received no gradient", "[autograd]") {
  Tensor x = leaf({1, 2}, {2});
  SeenGrads seen;
  auto [y1, y2] = twice_thrice(x, &seen);
  CHECK(y1.grad_fn() == y2.grad_fn());
  CHECK(y2.impl().output_nr == 1);
  (y2 * 1.0).sum().backward();
  CHECK(seen.g1 == std::vector<double>{0, 0});
  CHECK(seen.g2 == std::vector<double>{1, 1});
  CHECK(grad_of(x) == std::vector<double>{3, 3});

  x.zero_grad();
  auto [z1, z2] = twice_thrice(x, &seen);
  (z1 + z2).sum().backward();  // both outputs meet in one node
  CHECK(seen.g1 == std::vector<double>{1, 1});
  CHECK(seen.g2 == std::vector<double>{1, 1});
  CHECK(grad_of(x) == std::vector<double>{5, 5});
}

TEST_CASE("a node may return no gradient for an input", "[autograd]") {
  // A custom op whose backward declines to give x a gradient (an undefined
  // tensor means "no gradient"); the leaf keeps none instead of crashing.
  Tensor x = leaf({1, 2}, {2});
  Tensor w = leaf({1, 1}, {2});
  Tensor y;
  {
    NoGradGuard ng;
    y = x * w;
  }
  autograd::record("no_grad_for_x", {x, w}, {y}, [](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{Tensor(), ctx.grads[0]};
  });
  y.sum().backward();
  CHECK_FALSE(x.grad().defined());
  CHECK(grad_of(w) == std::vector<double>{1, 1});
}

TEST_CASE("a node returning the wrong number of gradients is reported", "[autograd]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y;
  {
    NoGradGuard ng;
    y = x * 1.0;
  }
  autograd::record("bad_arity", {x}, {y}, [](autograd::BackwardContext& ctx) {
    return std::vector<Tensor>{ctx.grads[0], ctx.grads[0]};
  });
  LL_CHECK_ERROR(y.sum().backward(), "bad_arity");
}

TEST_CASE("record does nothing when no input needs a gradient", "[autograd]") {
  Tensor c = Tensor::ones({2});
  Tensor out = Tensor::ones({2});
  bool called = false;
  autograd::record("unused", {c}, {out}, [&called](autograd::BackwardContext& ctx) {
    called = true;
    return std::vector<Tensor>{ctx.grads[0]};
  });
  CHECK(out.is_leaf());
  CHECK_FALSE(out.requires_grad());
  CHECK_FALSE(autograd::needs_grad({c, Tensor()}));
  CHECK(autograd::needs_grad({c, Tensor::ones({1}).set_requires_grad()}));
  CHECK_FALSE(called);
}

TEST_CASE("add_gradients sums same-shape gradients and rejects others", "[autograd]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector<float>({10, 20, 30, 40}, {2, 2});
  Tensor s = autograd::add_gradients(a.transpose(0, 1), b);
  CHECK(s.to_vector<float>() == std::vector<float>{11, 23, 32, 44});
  CHECK(a.to_vector<float>() == std::vector<float>{1, 2, 3, 4});  // inputs untouched
  LL_CHECK_ERROR(autograd::add_gradients(a, Tensor::ones({4})), "[autograd]");
}

TEST_CASE("a root that feeds another root waits for it", "[autograd]") {
  Tensor x = leaf({1, 2}, {2});
  Tensor y = x * 3.0;
  Tensor z = y * 2.0;
  autograd::backward({y, z}, {Tensor::ones({2}, DType::f64), Tensor::full({2}, 10, DType::f64)});
  CHECK(grad_of(x) == std::vector<double>{63, 63});  // 3 * (1 + 2 * 10)
  // The same root twice counts twice.
  Tensor w = leaf({1}, {1});
  Tensor v = w * 4.0;
  autograd::backward({v, v}, {Tensor::ones({1}, DType::f64), Tensor::ones({1}, DType::f64)});
  CHECK(grad_of(w) == std::vector<double>{8});
}

TEST_CASE("backward through empty tensors", "[autograd]") {
  Tensor x = Tensor::zeros({0, 3}, DType::f64).set_requires_grad(true);
  Tensor y = (x * 2.0).sum();
  CHECK(y.item() == 0.0);
  y.backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().shape() == Shape{0, 3});
}

TEST_CASE("f32 leaves get f32 gradients, bf16 leaves accumulate too", "[autograd]") {
  Tensor x = Tensor::from_vector<float>({1, 2, 3}, {3}).set_requires_grad(true);
  (x * x).sum().backward();
  CHECK(x.grad().dtype() == DType::f32);
  CHECK(x.grad().to_vector<float>() == std::vector<float>{2, 4, 6});

  // bf16 is storage-only on the cpu: compute in f32 through to(); the
  // gradient comes back as bf16 and must still add up across uses and calls.
  Tensor b = Tensor::from_vector<float>({1, 2}, {2}).to(DType::bf16).set_requires_grad(true);
  Tensor f = b.to(DType::f32);
  (f * 3.0 + b.to(DType::f32)).sum().backward();  // two paths into the bf16 leaf
  REQUIRE(b.grad().defined());
  CHECK(b.grad().dtype() == DType::bf16);
  CHECK(b.grad().to_vector<float>() == std::vector<float>{4, 4});
  (b.to(DType::f32) * 2.0).sum().backward();  // a second call accumulates
  CHECK(b.grad().to_vector<float>() == std::vector<float>{6, 6});
}

TEST_CASE("gradients of 0-dim leaves and of views that drop dims", "[autograd]") {
  Tensor s = Tensor::scalar(2.0, DType::f64).set_requires_grad(true);
  Tensor y = (s.expand({2, 3}) * s).sum();  // 6 s^2
  y.backward();
  REQUIRE(s.grad().defined());
  CHECK(s.grad().dim() == 0);
  CHECK(s.grad().item() == 24.0);

  Tensor v = leaf({1, 2, 3, 4}, {4});
  Tensor e = v.select(0, 1) * v.select(0, -1);  // v1 * v3
  CHECK(e.dim() == 0);
  e.backward();
  CHECK(grad_of(v) == std::vector<double>{0, 4, 0, 2});
  v.zero_grad();
  (v.slice(0, 0, 4, 2) * 10.0).sum().backward();
  CHECK(grad_of(v) == std::vector<double>{10, 0, 10, 0});
  v.zero_grad();
  (v.reshape({2, 2}).transpose(0, 1).unsqueeze(0).squeeze(0).narrow(0, 1, 1) * 5.0).sum().backward();
  CHECK(grad_of(v) == std::vector<double>{0, 5, 0, 5});  // column 1 of [[1,2],[3,4]]
}

// where and masked_fill on CUDA against the CPU path: every condition dtype,
// broadcasting on each input, strided views, large and odd sizes; forward
// (a selection, so exact) and backward.
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

Tensor random_mask(Generator& g, const Shape& s, DType dtype) { return randint(0, 2, s, DType::i64, g).to(dtype); }

}  // namespace

TEST_CASE("cuda: where matches the cpu for every condition dtype and broadcast", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  struct Shapes {
    Shape c, a, b;
  };
  const std::vector<Shapes> shapes = {{{4096, 768}, {4096, 768}, {4096, 768}},
                                      {{1000003}, {1000003}, {1000003}},
                                      {{4096, 1}, {768}, {}},
                                      {{13, 1}, {7, 1, 33}, {33}},
                                      {{1, 768}, {4096, 768}, {4096, 1}}};
  for (DType dtype : {DType::f32, DType::f64}) {
    for (DType cdtype : {DType::i64, DType::i32, DType::f32, DType::f64, DType::bf16}) {
      for (const Shapes& s : shapes) {
        Generator gen(21);
        Tensor c = random_mask(gen, s.c, cdtype);
        Tensor a = randn(s.a, dtype, gen), b = randn(s.b, dtype, gen);
        Tensor ac = a.detach().set_requires_grad(true), bc = b.detach().set_requires_grad(true);
        Tensor yc = where(c, ac, bc);
        Tensor w = randn(yc.shape(), dtype, gen);
        yc.backward(w);
        Tensor ag = on_gpu(a).set_requires_grad(true), bg = on_gpu(b).set_requires_grad(true);
        Tensor yg = where(on_gpu(c), ag, bg);
        REQUIRE(yg.device().is_cuda());
        yg.backward(on_gpu(w));
        INFO("cond " << shape_str(s.c) << " " << dtype_name(cdtype) << " a " << shape_str(s.a) << " b "
                     << shape_str(s.b) << " " << dtype_name(dtype));
        CHECK(rel_err(on_cpu(yg), yc) == 0.0);
        CHECK(rel_err(on_cpu(ag.grad()), ac.grad()) <= (dtype == DType::f64 ? 1e-10 : 2e-5));
        CHECK(rel_err(on_cpu(bg.grad()), bc.grad()) <= (dtype == DType::f64 ? 1e-10 : 2e-5));
      }
    }
  }
}

TEST_CASE("cuda: where on strided views and a condition of odd values", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(22);
  Tensor a = randn({768, 1000}, DType::f32, gen), b = randn({1000, 1536}, DType::f32, gen);
  Tensor cond = randint(0, 2, {1000, 1}, DType::i32, gen);
  // The views are taken on each device, so the cuda side reads them strided.
  auto pick = [&](const Tensor& c, const Tensor& a0, const Tensor& b0) {
    return where(c, a0.transpose(0, 1), b0.slice(1, 0, 1536, 2));
  };
  CHECK(rel_err(on_cpu(pick(on_gpu(cond), on_gpu(a), on_gpu(b))), pick(cond, a, b)) == 0.0);
  // Nonzero is true, whatever the sign or size; -0.0 is false.
  Tensor c = Tensor::from_vector<float>({0.0f, -0.0f, -2.5f, 1e-30f}, {4, 1});
  Tensor x = randn({4, 768}, DType::f32, gen), y = randn({4, 768}, DType::f32, gen);
  CHECK(rel_err(on_cpu(where(on_gpu(c), on_gpu(x), on_gpu(y))), where(c, x, y)) == 0.0);
}

TEST_CASE("cuda: masked_fill matches the cpu forward and backward", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  struct Shapes {
    Shape x, m;
  };
  const std::vector<Shapes> shapes = {{{4096, 768}, {4096, 768}}, {{4096, 768}, {1, 768}}, {{7, 13, 33}, {13, 1}},
                                      {{1000003}, {1000003}}, {{8, 4, 128, 128}, {128, 128}}};
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const Shapes& s : shapes) {
      Generator gen(23);
      Tensor x = randn(s.x, dtype, gen);
      Tensor m = random_mask(gen, s.m, DType::i64);
      Tensor xc = x.detach().set_requires_grad(true);
      Tensor yc = masked_fill(xc, m, -1e9);
      Tensor w = randn(yc.shape(), dtype, gen);
      yc.backward(w);
      Tensor xg = on_gpu(x).set_requires_grad(true);
      Tensor yg = masked_fill(xg, on_gpu(m), -1e9);
      REQUIRE(yg.device().is_cuda());
      yg.backward(on_gpu(w));
      INFO("x " << shape_str(s.x) << " mask " << shape_str(s.m) << " " << dtype_name(dtype));
      CHECK(rel_err(on_cpu(yg), yc) == 0.0);
      CHECK(rel_err(on_cpu(xg.grad()), xc.grad()) == 0.0);
    }
  }
  // A transposed x (the view taken on each device) with a column mask.
  Generator gen(24);
  Tensor x = randn({300, 2000}, DType::f32, gen);
  Tensor m = random_mask(gen, {2000, 1}, DType::i32);
  CHECK(rel_err(on_cpu(masked_fill(on_gpu(x).transpose(0, 1), on_gpu(m), 7.0)), masked_fill(x.transpose(0, 1), m, 7.0)) ==
        0.0);
}

TEST_CASE("cuda: where rejects a condition on another device", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor a = on_gpu(randn({3}));
  LL_CHECK_ERROR(where(Tensor::ones({3}), a, a), "[where]");
  LL_CHECK_ERROR(masked_fill(a, Tensor::ones({3}), 1.0), "[masked_fill]");
}

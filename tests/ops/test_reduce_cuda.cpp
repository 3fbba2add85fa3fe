// sum / mean / max / sum_to_shape on CUDA against the CPU path at realistic
// sizes: every dim of an odd-sized 3-D tensor (row, middle and leading-dim
// reductions), the fallback for scattered dims and strided inputs, a full
// 16M-element sum (the chunked two-pass path), bias-style sum_to_shape, and
// max with many ties (the CPU's first-maximum rule, forward and backward).
#include <functional>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

struct Run {
  Tensor y, dx;  // on the cpu
};

Run run_on(const Fn& fn, const Tensor& x0, uint64_t seed, Device device) {
  Tensor x = x0.to(device).detach();
  x.set_requires_grad(true);
  Tensor y = fn(x);
  Generator gen(seed);
  Tensor gy = randn(y.shape(), DType::f64, gen).to(y.dtype()).to(device);
  y.backward(gy);
  return {y.to(Device::cpu()), x.grad().to(Device::cpu())};
}

// Forward within tol, and the gradient (a broadcast or a scatter: exact up
// to the output's own error) within tol too.
void compare(const Fn& fn, const Tensor& x, double tol, uint64_t seed = 3) {
  Run cpu = run_on(fn, x, seed, Device::cpu());
  Run gpu = run_on(fn, x, seed, Device::cuda());
  REQUIRE(gpu.y.shape() == cpu.y.shape());
  CHECK(rel_err(gpu.y, cpu.y) <= tol);
  CHECK(rel_err(gpu.dx, cpu.dx) <= tol);
}

double tol_for(DType dt) { return dt == DType::f64 ? 1e-10 : 2e-5; }

}  // namespace

TEST_CASE("cuda sum and mean over each dim of 64x257x1031 match the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(11);
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = randn({64, 257, 1031}, dt, gen);
    for (int64_t d : {0, 1, 2}) {
      INFO("dtype " << dtype_name(dt) << " dim " << d);
      compare([d](const Tensor& t) { return sum(t, {d}); }, x, tol_for(dt));
      compare([d](const Tensor& t) { return mean(t, {d}, true); }, x, tol_for(dt));
    }
    INFO("dtype " << dtype_name(dt));
    compare([](const Tensor& t) { return sum(t, {0, 2}); }, x, tol_for(dt));         // scattered dims
    compare([](const Tensor& t) { return sum(t, {0, 1}, true); }, x, tol_for(dt));   // leading dims
    compare([](const Tensor& t) { return sum(t, {1, 2}); }, x, tol_for(dt));         // trailing dims
    compare([](const Tensor& t) { return mean(t); }, x, tol_for(dt));                 // everything
    compare([](const Tensor& t) { return sum(t.transpose(0, 2), {1}); }, x, tol_for(dt));  // strided input
  }
}

TEST_CASE("cuda sum of 16M f32 elements matches the cpu's double sum", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(12);
  Tensor x = randn({1 << 24}, DType::f32, gen);
  compare([](const Tensor& t) { return sum(t); }, x, 2e-5);
  // All positive: a large sum, where an f32 running sum would drift.
  Tensor u = rand({4096, 4096}, 0.0, 1.0, DType::f32, gen);
  compare([](const Tensor& t) { return sum(t); }, u, 2e-5);
  compare([](const Tensor& t) { return sum(t, {0}); }, u, 2e-5);
  compare([](const Tensor& t) { return sum(t, {1}); }, u, 2e-5);
  // A few long rows: chunked row reduction with partials.
  Tensor r = randn({3, 1 << 22}, DType::f32, gen);
  compare([](const Tensor& t) { return sum(t, {1}); }, r, 2e-5);
}

TEST_CASE("cuda sum_to_shape undoes broadcasting like the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(13);
  struct Case {
    Shape from, to;
  };
  const std::vector<Case> cases = {
      {{8, 512, 768}, {768}},           // a bias gradient
      {{8, 512, 768}, {1, 1, 768}},
      {{4, 128, 8, 64}, {1, 1, 8, 64}},  // [B,T,H,D] -> [1,1,H,D]
      {{4, 128, 8, 64}, {4, 1, 8, 1}},   // scattered dims: the copy fallback
      {{8, 512, 768}, {}},               // a scalar
      {{8, 512, 768}, {8, 512, 1}},
      {{3, 5}, {3, 5}},
  };
  for (DType dt : {DType::f32, DType::f64}) {
    for (const Case& c : cases) {
      INFO(shape_str(c.from) << " -> " << shape_str(c.to) << " " << dtype_name(dt));
      Tensor g = randn(c.from, dt, gen);
      Tensor cpu = sum_to_shape(g, c.to);
      Tensor gpu = sum_to_shape(g.to(Device::cuda()), c.to);
      CHECK(gpu.device().is_cuda());
      REQUIRE(gpu.shape() == c.to);
      CHECK(rel_err(gpu.to(Device::cpu()), cpu) <= tol_for(dt));
    }
  }
}

TEST_CASE("cuda max picks the same element as the cpu, ties included", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(14);
  for (DType dt : {DType::f32, DType::f64}) {
    // Small integers: most rows have several maximal elements.
    Tensor x = randint(0, 6, {64, 257, 1031}, DType::i64, gen).to(dt);
    for (int64_t d : {0, 1, 2}) {
      INFO("dtype " << dtype_name(dt) << " dim " << d);
      compare([d](const Tensor& t) { return max(t, d); }, x, 0.0);
      compare([d](const Tensor& t) { return max(t, d, true); }, x, 0.0);
    }
    // Over everything: the chunked two-pass argmax.
    Tensor big = randint(0, 1000, {1 << 23}, DType::i64, gen).to(dt);
    compare([](const Tensor& t) { return max(t); }, big, 0.0);
    Tensor rows = randn({2, 33, 1 << 16}, dt, gen);
    compare([](const Tensor& t) { return max(t, -1); }, rows, 0.0);
    compare([](const Tensor& t) { return max(t, 1); }, rows, 0.0);
  }
}

// sum_to_shape_of_product on CUDA against the CPU composite
// sum_to_shape(mul(g, a), shape): row sums of every team size and both load
// paths (inner 1, 3, 63, 64, 100, 4096; 16-byte packs and single elements),
// up to 1e5 rows, f32, f64 and bf16 (against the f32 composite of the same
// values); rows at strides (a split view, aligned and not); leading-dim sums
// after the row sums; a few very long rows (chunks and a second pass); and
// mul's backward for the Mamba-2 broadcasts against the CPU's.
#include <algorithm>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

// Values in +-[0.25, 1.25]: never zero, so a skipped element always shows.
Tensor nonzero(const Shape& shape, DType dt, Generator& gen) {
  Tensor mag = rand(shape, 0.25, 1.25, DType::f64, gen);
  Tensor sign = randint(0, 2, shape, DType::i64, gen).to(DType::f64) * 2.0 - 1.0;
  return mul(mag, sign).to(dt);
}

// The CPU composite in f64 for f64 inputs, else in f32 (bf16 values are exact in f32).
Tensor reference(const Tensor& g, const Tensor& a, const Shape& shape) {
  const DType dt = g.dtype() == DType::f64 ? DType::f64 : DType::f32;
  return sum_to_shape(mul(g.to(Device::cpu()).to(dt), a.to(Device::cpu()).to(dt)), shape);
}

double tol_for(DType dt) { return dt == DType::f64 ? 1e-10 : dt == DType::bf16 ? 1e-2 : 2e-5; }

// g and a on the GPU (any layout); the result there against the CPU composite.
void check_gpu(const Tensor& g, const Tensor& a, const Shape& shape, double tol) {
  INFO("g " << shape_str(g.shape()) << " -> " << shape_str(shape) << " " << dtype_name(g.dtype()));
  Tensor got = sum_to_shape_of_product(g, a, shape);
  CHECK(got.device().is_cuda());
  CHECK(got.dtype() == g.dtype());
  REQUIRE(got.shape() == shape);
  CHECK(rel_err(got.to(Device::cpu()).to(DType::f64), reference(g, a, shape).to(DType::f64)) <= tol);
}

const DType kDtypes[] = {DType::f32, DType::f64, DType::bf16};

}  // namespace

TEST_CASE("cuda sum_to_shape_of_product row sums of every length match the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(31);
  for (DType dt : kDtypes) {
    for (int64_t inner : {1, 2, 3, 8, 17, 63, 64, 100, 128, 1000, 1024, 1025, 4096}) {
      const int64_t rows = std::min<int64_t>(100003, (int64_t{1} << 22) / inner + 7);
      Tensor g = nonzero({rows, inner}, dt, gen).to(Device::cuda());
      Tensor a = nonzero({rows, inner}, dt, gen).to(Device::cuda());
      check_gpu(g, a, {rows, 1}, tol_for(dt));
    }
  }
}

TEST_CASE("cuda sum_to_shape_of_product over leading dims and strided rows", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(32);
  const int64_t B = 2, T = 300, H = 24, P = 64;
  for (DType dt : kDtypes) {
    Tensor g = nonzero({B, T, H, P}, dt, gen).to(Device::cuda());
    Tensor x = nonzero({B, T, H, P}, dt, gen).to(Device::cuda());
    // x split off a wider projection, at an aligned start and one element in
    // (no 16-byte packs there), as Mamba-2's x is.
    Tensor wide = nonzero({B, T, H * P + 33}, dt, gen).to(Device::cuda());
    Tensor x0 = wide.narrow(2, 0, H * P).reshape({B, T, H, P});
    Tensor x1 = wide.narrow(2, 1, H * P).reshape({B, T, H, P});
    REQUIRE(!x0.is_contiguous());
    for (const Shape& s : {Shape{B, T, H, 1}, Shape{H, 1}, Shape{1}, Shape{}, Shape{B, 1, H, 1}, Shape{T, 1, 1}}) {
      check_gpu(g, x, s, tol_for(dt));
      check_gpu(g, x0, s, tol_for(dt));
      check_gpu(g, x1, s, tol_for(dt));
      check_gpu(x1, g, s, tol_for(dt));
    }
    // No trailing sum: the composite (in f32 for bf16).
    check_gpu(g, x0, {H, P}, tol_for(dt));
  }
}

TEST_CASE("cuda sum_to_shape_of_product of a few very long rows matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(33);
  for (DType dt : kDtypes) {
    // Long rows are cut into chunks whose partial sums a second pass adds.
    Tensor g = nonzero({3, (1 << 20) + 4}, dt, gen).to(Device::cuda());
    Tensor a = nonzero({3, (1 << 20) + 4}, dt, gen).to(Device::cuda());
    check_gpu(g, a, {3, 1}, dt == DType::f32 ? 1e-4 : tol_for(dt));
    Tensor h = nonzero({1 << 22}, dt, gen).to(Device::cuda());
    Tensor b = nonzero({1 << 22}, dt, gen).to(Device::cuda());
    check_gpu(h, b, {}, dt == DType::f32 ? 1e-4 : tol_for(dt));
    check_gpu(h.narrow(0, 3, 12345), b.narrow(0, 5, 12345), {1}, tol_for(dt));
  }
}

TEST_CASE("cuda mul backward for the Mamba-2 broadcasts matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(34);
  const int64_t B = 2, T = 257, H = 8, P = 64;
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor wide = nonzero({B, T, H * P + 16}, dt, gen);
    Tensor dt_in = nonzero({B, T, H}, dt, gen), D_in = nonzero({H}, dt, gen), gy = nonzero({B, T, H, P}, dt, gen);
    std::vector<std::vector<Tensor>> grads;
    for (Device dev : {Device::cpu(), Device::cuda()}) {
      Tensor w = wide.to(dev).detach().set_requires_grad(true);
      Tensor s = dt_in.to(dev).detach().set_requires_grad(true);
      Tensor d = D_in.to(dev).detach().set_requires_grad(true);
      Tensor x = w.narrow(2, 0, H * P).reshape({B, T, H, P});
      Tensor y = x * s.unsqueeze(-1) + x * d.unsqueeze(-1);
      y.backward(gy.to(dev));
      grads.push_back({w.grad().to(Device::cpu()), s.grad().to(Device::cpu()), d.grad().to(Device::cpu())});
    }
    INFO(dtype_name(dt));
    for (size_t i = 0; i < 3; ++i) CHECK(rel_err(grads[1][i], grads[0][i]) <= tol_for(dt));
  }
}

// softmax / log_softmax on CUDA against the CPU path, forward and backward:
// rows of 1 (below a warp), 31, 1024 (the longest warp row), 8193 and 65537
// (block rows), large-magnitude inputs (max subtraction), and the softmax
// over a leading or middle dim.
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Run {
  Tensor y, dx;  // on the cpu
};

Run run_on(const Tensor& x0, int64_t dim, bool log, const Tensor& gy, Device device) {
  Tensor x = x0.to(device).detach();
  x.set_requires_grad(true);
  Tensor y = log ? log_softmax(x, dim) : softmax(x, dim);
  y.backward(gy.to(device));
  return {y.to(Device::cpu()), x.grad().to(Device::cpu())};
}

void compare(const Tensor& x, int64_t dim, DType dt, Generator& gen) {
  Tensor gy = randn(x.shape(), dt, gen);
  const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
  for (bool log : {false, true}) {
    INFO((log ? "log_softmax" : "softmax") << " of " << shape_str(x.shape()) << " dim " << dim << " "
                                          << dtype_name(dt));
    Run cpu = run_on(x, dim, log, gy, Device::cpu());
    Run gpu = run_on(x, dim, log, gy, Device::cuda());
    CHECK(rel_err(gpu.y, cpu.y) <= tol);
    CHECK(rel_err(gpu.dx, cpu.dx) <= tol);
  }
}

}  // namespace

TEST_CASE("cuda softmax over the last dim matches the cpu for rows of 1 to 65537", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(21);
  const std::vector<Shape> shapes = {{300, 1}, {517, 31}, {300, 1024}, {4, 16, 1025}, {64, 8193}, {5, 65537}};
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : shapes) compare(randn(s, dt, gen), -1, dt, gen);
}

TEST_CASE("cuda softmax is stable for large logits", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(22);
  for (const Shape& s : {Shape{128, 77}, Shape{16, 4099}}) {
    Tensor x = add(mul(randn(s, DType::f32, gen), 30.0), 1000.0);
    compare(x, -1, DType::f32, gen);
  }
}

TEST_CASE("cuda softmax over a leading or middle dim matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(23);
  for (DType dt : {DType::f32, DType::f64}) {
    compare(randn({1000, 300}, dt, gen), 0, dt, gen);
    compare(randn({8, 129, 65}, dt, gen), 1, dt, gen);
    compare(randn({3, 1, 7}, dt, gen), 1, dt, gen);
    compare(randn({300, 517}, dt, gen).transpose(0, 1), -1, dt, gen);  // strided input
  }
}

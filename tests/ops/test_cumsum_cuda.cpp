// cumsum on CUDA against the CPU path, both directions, forward and backward
// (a reverse scan of the gradient): T = 2048 and 8192 along the last, a
// middle and the leading dim, few long scans (the segmented three-pass path)
// and many short ones.
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

void compare(const Tensor& x0, int64_t dim, bool reverse, Generator& gen) {
  const DType dt = x0.dtype();
  const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
  Tensor gy = randn(x0.shape(), dt, gen);
  Tensor y[2], dx[2];
  for (int k = 0; k < 2; ++k) {
    const Device dev = k == 0 ? Device::cpu() : Device::cuda();
    Tensor x = x0.to(dev).detach();
    x.set_requires_grad(true);
    Tensor out = cumsum(x, dim, reverse);
    out.backward(gy.to(dev));
    y[k] = out.to(Device::cpu());
    dx[k] = x.grad().to(Device::cpu());
  }
  INFO("cumsum of " << shape_str(x0.shape()) << " dim " << dim << (reverse ? " reverse " : " ") << dtype_name(dt));
  CHECK(rel_err(y[1], y[0]) <= tol);
  CHECK(rel_err(dx[1], dx[0]) <= tol);
}

}  // namespace

TEST_CASE("cuda cumsum over T = 2048 and 8192 matches the cpu in both directions", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(41);
  struct Case {
    Shape shape;
    int64_t dim;
  };
  const std::vector<Case> cases = {
      {{4, 2048, 16}, 1},   // a [B, T, H] gate cumsum: few columns, segmented
      {{64, 2048}, -1},     // rows
      {{2048, 3}, 0},       // the leading dim, narrow
      {{2, 8192, 4}, 1},    // the longest scans
      {{1, 8192}, -1},      // one scan
      {{4096, 7}, 1},       // many short scans
      {{300000, 2}, 1},     // more scans than the segmenting target
      {{5, 1, 3}, 1},       // length 1
  };
  for (DType dt : {DType::f32, DType::f64})
    for (const Case& c : cases)
      for (bool reverse : {false, true}) compare(randn(c.shape, dt, gen), c.dim, reverse, gen);
}

TEST_CASE("cuda cumsum of a strided input matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(42);
  Tensor x = randn({2048, 24}, DType::f32, gen).transpose(0, 1);
  compare(x, 1, false, gen);
  compare(x, 0, true, gen);
}

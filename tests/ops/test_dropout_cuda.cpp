// dropout on CUDA: the same generator state gives the CPU's mask bit for bit
// (both hash the drawn seed with each element's index), at large, odd and
// strided sizes; the statistics and the special cases hold on the device.
#include <cmath>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {
Tensor on_gpu(const Tensor& t) { return t.to(Device::cuda()).detach(); }
}  // namespace

TEST_CASE("cuda: dropout gives the cpu's mask and gradient bit for bit", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  for (DType dtype : {DType::f32, DType::f64}) {
    for (const Shape& shape : {Shape{4096, 768}, Shape{1000003}, Shape{7, 13, 33}}) {
      for (double p : {0.1, 0.5, 0.9, 1.0}) {
        Generator data(31);
        Tensor x = randn(shape, dtype, data);
        Tensor w = randn(shape, dtype, data);
        Generator gc(77), gg(77);
        Tensor xc = x.detach().set_requires_grad(true);
        Tensor yc = dropout(xc, p, true, gc);
        yc.backward(w);
        Tensor xg = on_gpu(x).set_requires_grad(true);
        Tensor yg = dropout(xg, p, true, gg);
        REQUIRE(yg.device().is_cuda());
        yg.backward(on_gpu(w));
        INFO(shape_str(shape) << " p " << p << " " << dtype_name(dtype));
        CHECK(yg.to_vector<double>() == yc.to_vector<double>());
        CHECK(xg.grad().to_vector<double>() == xc.grad().to_vector<double>());
        // Both drew exactly one number.
        CHECK(gc.next_u64() == gg.next_u64());
      }
    }
  }
}

TEST_CASE("cuda: dropout of a strided view matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator data(32);
  Tensor x = randn({768, 1000}, DType::f32, data);
  Generator gc(5), gg(5);
  Tensor yc = dropout(x.transpose(0, 1), 0.3, true, gc);
  Tensor yg = dropout(on_gpu(x).transpose(0, 1), 0.3, true, gg);
  CHECK(yg.to_vector<float>() == yc.to_vector<float>());
}

TEST_CASE("cuda: dropout zeroes about p and scales the rest; eval and p = 0 are the identity", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(1);
  Tensor x = on_gpu(rand({4096, 768}, 0.5, 1.5, DType::f32, gen));
  auto xv = x.to_vector<float>();
  for (double p : {0.1, 0.5, 0.9}) {
    auto y = dropout(x, p, true, gen).to_vector<float>();
    int64_t zeros = 0, bad = 0;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    for (size_t i = 0; i < y.size(); ++i) {
      if (y[i] == 0) ++zeros;
      else bad += std::abs(y[i] - xv[i] * scale) > 1e-6f * std::abs(y[i]);
    }
    const double frac = static_cast<double>(zeros) / static_cast<double>(y.size());
    INFO("p " << p << " fraction of zeros " << frac);
    CHECK(std::abs(frac - p) < 0.005);
    CHECK(bad == 0);
  }
  // Two calls draw two different masks.
  CHECK(dropout(x, 0.5, true, gen).to_vector<float>() != dropout(x, 0.5, true, gen).to_vector<float>());
  CHECK(dropout(x, 0.5, false, gen).to_vector<float>() == xv);
  CHECK(dropout(x, 0.0, true, gen).to_vector<float>() == xv);
  CHECK(dropout(x, 0.5, true, gen).device().is_cuda());
}

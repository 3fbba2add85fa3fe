#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"

using namespace loglin;

namespace {
// Reference product over contiguous copies, in double.
std::vector<double> ref_matmul(const Tensor& a, const Tensor& b) {
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  int64_t m = a.size(0), k = a.size(1), n = b.size(1);
  std::vector<double> c(m * n, 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) c[i * n + j] += av[i * k + p] * bv[p * n + j];
  return c;
}
double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / den);
}
}  // namespace

TEST_CASE("matmul 2-D against a reference, all operand layouts", "[ops]") {
  Tensor a = randn({37, 53}), b = randn({53, 29});
  CHECK(rel_err(matmul(a, b).to_vector<double>(), ref_matmul(a, b)) < 1e-6);
  Tensor at = randn({53, 37}).transpose(0, 1);  // column-major view
  Tensor bt = randn({29, 53}).transpose(0, 1);
  CHECK(rel_err(matmul(at, bt).to_vector<double>(), ref_matmul(at.contiguous(), bt.contiguous())) < 1e-6);
  Tensor as = randn({37, 106}).slice(1, 0, 106, 2);  // neither layout: packed first
  CHECK(rel_err(matmul(as, b).to_vector<double>(), ref_matmul(as.contiguous(), b)) < 1e-6);
}

TEST_CASE("batched matmul broadcasts batch dims", "[ops]") {
  Tensor a = randn({2, 1, 5, 3}), b = randn({4, 3, 6});
  Tensor c = matmul(a, b);
  REQUIRE(c.shape() == Shape{2, 4, 5, 6});
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j) {
      auto ref = ref_matmul(a.select(0, i).select(0, 0).contiguous(), b.select(0, j).contiguous());
      CHECK(rel_err(c.select(0, i).select(0, j).to_vector<double>(), ref) < 1e-6);
    }
}

TEST_CASE("matmul with vectors", "[ops]") {
  Tensor v = randn({3}), m = randn({3, 4});
  CHECK(matmul(v, m).shape() == Shape{4});
  CHECK(matmul(m.transpose(0, 1), v).shape() == Shape{4});
  CHECK(matmul(v, v).dim() == 0);
}

TEST_CASE("matmul errors name the op", "[ops]") {
  try {
    matmul(randn({2, 64}), randn({65, 3}));
    FAIL("no error");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[matmul] inner dims 64 and 65 differ") != std::string::npos);
  }
  CHECK_THROWS_AS(matmul(randn({2, 3, 4}), randn({3, 4, 5})), loglin::Error);  // batch 2 vs 3
}

TEST_CASE("matmul gradient of broadcast batch sums over the batch", "[ops]") {
  Tensor a = randn({4, 2, 3}).set_requires_grad(true);
  Tensor w = randn({3, 5}).set_requires_grad(true);
  sum(matmul(a, w)).backward();
  REQUIRE(w.grad().shape() == Shape{3, 5});
  // d/dw sum(a w) = sum over batch and rows of a, per input dim.
  Tensor expect = sum(a.detach(), {0, 1});
  std::vector<float> gv = w.grad().to_vector<float>(), ev = expect.to_vector<float>();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 5; ++j) CHECK(gv[i * 5 + j] == Approx(ev[i]).epsilon(1e-5));
}

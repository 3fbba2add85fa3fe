#include <cmath>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

// Scan of a contiguous [n0, n1, n2] array along d, in double.
std::vector<double> scan_loop(const std::vector<double>& x, const Shape& s, int64_t d, bool reverse) {
  std::vector<double> out(x.size());
  int64_t stride = d == 2 ? 1 : d == 1 ? s[2] : s[1] * s[2];
  for (int64_t i = 0; i < static_cast<int64_t>(x.size()); ++i) {
    int64_t pos = (i / stride) % s[d];
    double acc = 0;
    for (int64_t k = 0; k < s[d]; ++k)
      if (reverse ? k >= pos : k <= pos) acc += x[i + (k - pos) * stride];
    out[i] = acc;
  }
  return out;
}

double max_err(const std::vector<double>& a, const std::vector<double>& b) {
  double m = a.size() == b.size() ? 0 : INFINITY;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("cumsum matches a loop on every dim, both directions", "[ops]") {
  Generator gen(7);
  // The [3,70,5] shape splits the inner columns into more than one block.
  for (Shape s : {Shape{3, 4, 5}, Shape{2, 3, 70}, Shape{70, 2, 3}}) {
    for (DType dt : {DType::f32, DType::f64}) {
      Tensor x = randn(s, dt, gen);
      auto xv = x.to_vector<double>();
      for (int64_t dim : {0, 1, 2, -1})
        for (bool rev : {false, true}) {
          const int64_t d = dim < 0 ? dim + 3 : dim;
          Tensor y = cumsum(x, dim, rev);
          REQUIRE(y.shape() == s);
          INFO("shape " << shape_str(s) << " dim " << dim << " reverse " << rev << " " << dtype_name(dt));
          CHECK(max_err(y.to_vector<double>(), scan_loop(xv, s, d, rev)) < (dt == DType::f32 ? 1e-5 : 1e-12));
        }
    }
  }
}

TEST_CASE("cumsum of a strided view, a 1-D tensor and a 0-dim tensor", "[ops]") {
  Tensor x = Tensor::arange(6, DType::f32).reshape({2, 3}).transpose(0, 1);  // [[0,3],[1,4],[2,5]]
  CHECK(cumsum(x, 0).to_vector<float>() == std::vector<float>{0, 3, 1, 7, 3, 12});
  CHECK(cumsum(x, 1, true).to_vector<float>() == std::vector<float>{3, 3, 5, 4, 7, 5});
  CHECK(cumsum(Tensor::from_vector<float>({1, 2, 3}, {3}), 0, true).to_vector<float>() == std::vector<float>{6, 5, 3});
  CHECK(cumsum(Tensor::scalar(4.0), 0).item() == 4.0);
}

TEST_CASE("long f32 cumsum accumulates in double", "[ops]") {
  const int64_t n = 1 << 20;
  Tensor y = cumsum(Tensor::full({n}, 0.1), 0);
  const double want = static_cast<double>(n) * static_cast<double>(0.1f);
  // A float running sum is off by ~1e-3 relative here.
  CHECK(std::abs(y.to_vector<float>().back() - want) / want < 1e-6);
}

TEST_CASE("cumsum backward is the reverse cumsum of the gradient", "[ops]") {
  Generator gen(8);
  for (bool rev : {false, true}) {
    Tensor x = randn({3, 6}, DType::f64, gen).set_requires_grad(true);
    Tensor g = randn({3, 6}, DType::f64, gen);
    cumsum(x, 1, rev).backward(g);
    CHECK(max_err(x.grad().to_vector<double>(), cumsum(g, 1, !rev).to_vector<double>()) < 1e-12);
  }
  // By hand: d/dx of sum(cumsum(x)) for x of length 3 is [3, 2, 1].
  Tensor x = Tensor::zeros({3}).set_requires_grad(true);
  sum(cumsum(x, 0)).backward();
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3, 2, 1});
}

TEST_CASE("cumsum errors", "[ops]") {
  CHECK_THROWS_AS(cumsum(Tensor::zeros({2, 3}), 2), loglin::Error);
  CHECK(contains(error_message([] { cumsum(Tensor::zeros({2, 3}), 2); }), "[cumsum]"));
  CHECK(contains(error_message([] { cumsum(Tensor::zeros({2, 3}, DType::i64), 0); }), "[cumsum]"));
}

TEST_CASE("cumsum passes gradcheck", "[ops]") {
  auto rows = run_gradcheck("cumsum");
  CHECK(rows.size() >= 8);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": " << row.result.message);
    CHECK(row.result.passed);
  }
}

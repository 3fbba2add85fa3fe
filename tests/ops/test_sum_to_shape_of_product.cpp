// sum_to_shape_of_product against its composite, sum_to_shape(mul(g, a), shape):
// trailing sums alone and with leading or middle dims (the fused path), no
// trailing sum and inner blocks that are not contiguous (the composite), and
// rows at odd strides (a split view, a broadcast operand: fused, strided).
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

Tensor composite(const Tensor& g, const Tensor& a, const Shape& shape) { return sum_to_shape(mul(g, a), shape); }

double tol_for(DType dt) { return dt == DType::f64 ? 1e-12 : 1e-6; }

void check_matches(const Tensor& g, const Tensor& a, const Shape& shape) {
  INFO("g " << shape_str(g.shape()) << " -> " << shape_str(shape) << " " << dtype_name(g.dtype()));
  Tensor got = sum_to_shape_of_product(g, a, shape);
  Tensor want = composite(g, a, shape);
  REQUIRE(got.shape() == shape);
  CHECK(got.dtype() == g.dtype());
  CHECK(rel_err(got, want) <= tol_for(g.dtype()));
}

const std::vector<Shape> kTargets = {
    {2, 5, 3, 1},  // trailing dim only
    {3, 1},        // leading dims and the trailing one
    {1},           // everything but a kept size-1 dim
    {},            // everything
    {2, 1, 3, 1},  // a middle dim and the trailing one
    {5, 1, 1},     // two trailing dims and the leading one
    {7},           // no trailing sum: the composite
    {2, 5, 1, 7},  // a middle dim only: the composite
    {2, 5, 3, 7},  // nothing to sum
};

}  // namespace

TEST_CASE("sum_to_shape_of_product matches sum_to_shape of mul", "[ops]") {
  Generator gen(21);
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor g = randn({2, 5, 3, 7}, dt, gen), a = randn({2, 5, 3, 7}, dt, gen);
    for (const Shape& s : kTargets) check_matches(g, a, s);
  }
}

TEST_CASE("sum_to_shape_of_product with strided inputs", "[ops]") {
  Generator gen(22);
  for (DType dt : {DType::f32, DType::f64}) {
    // Inner dims not contiguous (a transpose): the composite.
    Tensor gt = randn({2, 5, 7, 3}, dt, gen).transpose(2, 3), at = randn({2, 5, 7, 3}, dt, gen).transpose(2, 3);
    // Rows at a stride, inner block contiguous (a split of a wider last dim),
    // starting one element in: the fused path reads them in place.
    Tensor gw = randn({2, 5, 3, 9}, dt, gen).narrow(3, 1, 7), aw = randn({2, 5, 24}, dt, gen).narrow(2, 2, 21);
    Tensor as = aw.reshape({2, 5, 3, 7});
    // A broadcast operand (stride-0 row dims).
    Tensor ab = randn({1, 5, 1, 7}, dt, gen).expand({2, 5, 3, 7});
    REQUIRE(!gt.is_contiguous());
    REQUIRE(!gw.is_contiguous());
    REQUIRE(!as.is_contiguous());
    for (const Shape& s : kTargets) {
      check_matches(gt, at, s);
      check_matches(gw, as, s);
      check_matches(gw, ab, s);
      check_matches(ab, gw, s);
    }
  }
}

TEST_CASE("sum_to_shape_of_product of a broadcast operand and bad input", "[ops]") {
  Generator gen(23);
  Tensor g = randn({4, 6, 8}, DType::f32, gen), a = randn({6, 1}, DType::f32, gen);
  check_matches(g, a, {6, 1});
  check_matches(g, a, {4, 6, 8});
  // Errors come from the composite and name g's shape, not an intermediate.
  LL_CHECK_ERROR(sum_to_shape_of_product(g, randn({4, 6, 8}, DType::f64, gen), {6, 1}), "[mul]");
  LL_CHECK_ERROR(sum_to_shape_of_product(g, g, {3, 1}), "[4, 6, 8]");
  LL_CHECK_ERROR(sum_to_shape_of_product(g, g, {2, 4, 6, 1}), "[sum_to_shape]");
}

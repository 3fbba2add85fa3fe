#include "catch.h"
#include "core/rng.h"
#include "core/tensor.h"

using namespace loglin;

TEST_CASE("from_vector and to_vector round-trip", "[core]") {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
}

// Broadcasting rules and shape inference.
#include "core/shape.h"
#include "core/tensor.h"
#include "test_util.h"

using namespace loglin;

TEST_CASE("broadcast_shapes follows numpy's rules", "[core]") {
  CHECK(broadcast_shapes({3, 1}, {1, 4}, "op") == Shape{3, 4});
  CHECK(broadcast_shapes({2, 3, 4}, {4}, "op") == Shape{2, 3, 4});
  CHECK(broadcast_shapes({4}, {2, 3, 4}, "op") == Shape{2, 3, 4});
  CHECK(broadcast_shapes({}, {2, 3}, "op") == Shape{2, 3});
  CHECK(broadcast_shapes({2, 3}, {}, "op") == Shape{2, 3});
  CHECK(broadcast_shapes({}, {}, "op").empty());
  CHECK(broadcast_shapes({5, 1, 7}, {1, 6, 1}, "op") == Shape{5, 6, 7});
  CHECK(broadcast_shapes({0}, {1}, "op") == Shape{0});
  CHECK(broadcast_shapes({1}, {0}, "op") == Shape{0});
  CHECK(broadcast_shapes({2, 1}, {2, 0}, "op") == Shape{2, 0});
}

TEST_CASE("broadcast_shapes names the op and both shapes when it fails", "[core]") {
  LL_CHECK_ERROR(broadcast_shapes({3}, {4}, "myop"), "[myop]");
  LL_CHECK_ERROR(broadcast_shapes({3}, {4}, "myop"), "[3]");
  LL_CHECK_ERROR(broadcast_shapes({3}, {4}, "myop"), "[4]");
  LL_CHECK_ERROR(broadcast_shapes({2, 3}, {3, 3}, "add"), "[2, 3] and [3, 3]");
  LL_CHECK_ERROR(broadcast_shapes({2, 0}, {2, 3}, "add"), "[add]");
}

TEST_CASE("broadcast_strides puts zeros on stretched and new dims", "[core]") {
  CHECK(broadcast_strides({3, 1}, {1, 1}, {2, 3, 4}) == Shape{0, 1, 0});
  CHECK(broadcast_strides({4}, {1}, {2, 3, 4}) == Shape{0, 0, 1});
  CHECK(broadcast_strides({2, 3}, {3, 1}, {2, 3}) == Shape{3, 1});
  CHECK(broadcast_strides({}, {}, {2, 2}) == Shape{0, 0});
  // A size-1 dim that stays size 1 keeps its stride.
  CHECK(broadcast_strides({1, 3}, {3, 1}, {1, 3}) == Shape{3, 1});
}

TEST_CASE("infer_shape resolves one -1 and reports bad requests", "[core]") {
  CHECK(core::infer_shape({-1, 4}, 12, "reshape") == Shape{3, 4});
  CHECK(core::infer_shape({2, -1, 3}, 12, "reshape") == Shape{2, 2, 3});
  CHECK(core::infer_shape({-1}, 7, "reshape") == Shape{7});
  CHECK(core::infer_shape({3, 4}, 12, "reshape") == Shape{3, 4});
  CHECK(core::infer_shape({}, 1, "reshape").empty());
  CHECK(core::infer_shape({0, 5}, 0, "reshape") == Shape{0, 5});
  CHECK(core::infer_shape({-1, 5}, 0, "reshape") == Shape{0, 5});

  LL_CHECK_ERROR(core::infer_shape({-1, -1}, 12, "reshape"), "[reshape]");
  LL_CHECK_ERROR(core::infer_shape({-1, -1}, 12, "reshape"), "only one");
  LL_CHECK_ERROR(core::infer_shape({5, -1}, 12, "view"), "[view]");
  LL_CHECK_ERROR(core::infer_shape({3, 5}, 12, "view"), "15");
  LL_CHECK_ERROR(core::infer_shape({-2, 6}, 12, "view"), "invalid dimension");
  LL_CHECK_ERROR(core::infer_shape({0, -1}, 0, "view"), "[view]");  // -1 could be anything
  LL_CHECK_ERROR(core::infer_shape({}, 2, "view"), "[view]");
}

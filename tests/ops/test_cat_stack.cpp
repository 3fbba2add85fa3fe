#include <string>

#include "catch.h"
#include "core/rng.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::error_message;

TEST_CASE("cat matches a loop on every dim", "[ops]") {
  Generator gen(1);
  for (int64_t dim : {0, 1, 2, -1}) {
    const int64_t d = dim < 0 ? dim + 3 : dim;
    Shape sa{2, 3, 4}, sb{2, 3, 4}, sc{2, 3, 4};
    sa[d] = 2;
    sb[d] = 5;
    sc[d] = 1;
    Tensor a = randn(sa, DType::f32, gen), b = randn(sb, DType::f32, gen), c = randn(sc, DType::f32, gen);
    Tensor out = cat({a, b, c}, dim);
    Shape so = sa;
    so[d] = 8;
    REQUIRE(out.shape() == so);
    std::vector<float> ov = out.to_vector<float>();
    const std::vector<std::vector<float>> parts{a.to_vector<float>(), b.to_vector<float>(), c.to_vector<float>()};
    const std::vector<Shape> shapes{sa, sb, sc};
    int64_t mismatches = 0;
    for (int64_t i = 0; i < so[0]; ++i)
      for (int64_t j = 0; j < so[1]; ++j)
        for (int64_t k = 0; k < so[2]; ++k) {
          int64_t idx[3] = {i, j, k};
          int64_t p = 0;
          while (idx[d] >= shapes[p][d]) idx[d] -= shapes[p++][d];
          const Shape& s = shapes[p];
          float want = parts[p][(idx[0] * s[1] + idx[1]) * s[2] + idx[2]];
          if (ov[(i * so[1] + j) * so[2] + k] != want) ++mismatches;
        }
    INFO("dim " << dim);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("cat reads strided inputs, integer tensors and empty pieces", "[ops]") {
  Tensor a = Tensor::arange(6, DType::f32).reshape({2, 3}).transpose(0, 1);  // [3,2], not contiguous
  Tensor b = Tensor::full({3, 1}, 9.0);
  CHECK(cat({a, b}, 1).to_vector<float>() == std::vector<float>{0, 3, 9, 1, 4, 9, 2, 5, 9});
  Tensor i = cat({Tensor::from_vector<int64_t>({1, 2}, {2}), Tensor::from_vector<int64_t>({3}, {1})}, 0);
  CHECK(i.dtype() == DType::i64);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3});
  Tensor e = cat({Tensor::zeros({2, 0}), Tensor::ones({2, 2})}, 1);
  CHECK(e.shape() == Shape{2, 2});
  CHECK(e.to_vector<float>() == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("stack inserts a new dim", "[ops]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector<float>({7, 8, 9, 10, 11, 12}, {2, 3});
  Tensor s0 = stack({a, b}, 0);
  CHECK(s0.shape() == Shape{2, 2, 3});
  CHECK(s0.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor s1 = stack({a, b}, 1);
  CHECK(s1.shape() == Shape{2, 2, 3});
  CHECK(s1.to_vector<float>() == std::vector<float>{1, 2, 3, 7, 8, 9, 4, 5, 6, 10, 11, 12});
  Tensor s2 = stack({a, b}, -1);
  CHECK(s2.shape() == Shape{2, 3, 2});
  CHECK(s2.to_vector<float>() == std::vector<float>{1, 7, 2, 8, 3, 9, 4, 10, 5, 11, 6, 12});
  CHECK(stack({Tensor::scalar(1.0), Tensor::scalar(2.0)}, 0).to_vector<float>() == std::vector<float>{1, 2});
}

TEST_CASE("cat and stack gradients are slices of the output gradient", "[ops]") {
  Tensor a = Tensor::zeros({2, 2}).set_requires_grad(true);
  Tensor b = Tensor::zeros({2, 1}).set_requires_grad(true);
  Tensor w = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  sum(mul(cat({a, b}, 1), w)).backward();
  CHECK(a.grad().to_vector<float>() == std::vector<float>{1, 2, 4, 5});
  CHECK(b.grad().to_vector<float>() == std::vector<float>{3, 6});

  Tensor c = Tensor::zeros({3}).set_requires_grad(true);
  Tensor d = Tensor::zeros({3});  // no gradient wanted
  sum(mul(stack({c, d}, 1), Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2}))).backward();
  CHECK(c.grad().to_vector<float>() == std::vector<float>{1, 3, 5});
  CHECK_FALSE(d.grad().defined());
}

TEST_CASE("cat and stack errors name the op and the shapes", "[ops]") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  CHECK_THROWS_AS(cat({a, b}, 1), loglin::Error);
  std::string m = error_message([&] { cat({a, b}, 1); });
  CHECK(contains(m, "[cat]"));
  CHECK(contains(m, "[4, 5]"));
  CHECK(contains(error_message([&] { cat({}, 0); }), "[cat] needs at least one tensor"));
  CHECK(contains(error_message([&] { cat({a, Tensor::zeros({2, 3, 1})}, 0); }), "[cat]"));
  CHECK(contains(error_message([&] { cat({a, Tensor::zeros({2, 3}, DType::f64)}, 0); }), "[cat] dtypes"));
  CHECK(contains(error_message([&] { cat({a, a}, 2); }), "[cat]"));
  CHECK(contains(error_message([&] { cat({Tensor::scalar(1.0)}, 0); }), "[cat]"));
  CHECK_THROWS_AS(stack({a, Tensor::zeros({3, 2})}, 0), loglin::Error);
  CHECK(contains(error_message([&] { stack({a, Tensor::zeros({3, 2})}, 0); }), "[stack] tensor 1 has shape [3, 2]"));
  CHECK(contains(error_message([&] { stack({a, a}, 3); }), "[stack]"));
}

TEST_CASE("cat and stack pass gradcheck", "[ops]") {
  for (const char* op : {"cat", "stack"})
    for (const auto& row : run_gradcheck(op)) {
      INFO(row.gcase->op << " " << row.gcase->label << ": " << row.result.message);
      CHECK(row.result.passed);
    }
}

TEST_CASE("unbind gives views, and its gradient follows the input's memory order", "[ops]") {
  Tensor base = randn({2, 3, 4}).set_requires_grad(true);
  Tensor x = base.permute({1, 0, 2});  // [3, 2, 4], not contiguous
  std::vector<Tensor> parts = unbind(x, 0);
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].to_vector<float>() == x.select(0, 1).to_vector<float>());
  CHECK(parts[1].raw_data() == x.select(0, 1).raw_data());  // a view, not a copy
  sum(mul(parts[0], 2.0) + parts[2]).backward();  // parts[1] gets no gradient: zeros
  std::vector<float> g = base.grad().to_vector<float>();
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 4; ++k) CHECK(g[(i * 3 + j) * 4 + k] == (j == 0 ? 2.0f : j == 1 ? 0.0f : 1.0f));
  LL_CHECK_ERROR(unbind(Tensor::scalar(1.0), 0), "[unbind] cannot unbind a 0-dim tensor");
}

TEST_CASE("split gives views of consecutive pieces, and one gradient for the input", "[ops]") {
  Tensor x = randn({3, 10}).set_requires_grad(true);
  std::vector<Tensor> parts = split(x, -1, {4, 0, 5, 1});
  REQUIRE(parts.size() == 4);
  CHECK(parts[0].shape() == Shape{3, 4});
  CHECK(parts[1].shape() == Shape{3, 0});
  CHECK(parts[2].raw_data() == x.narrow(1, 4, 5).raw_data());  // a view, not a copy
  CHECK(parts[2].to_vector<float>() == x.narrow(1, 4, 5).to_vector<float>());
  CHECK(parts[3].to_vector<float>() == x.narrow(1, 9, 1).to_vector<float>());
  sum(mul(parts[0], 2.0)).backward();  // parts 2 and 3 get no gradient: zeros
  std::vector<float> g = x.grad().to_vector<float>();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 10; ++j) CHECK(g[i * 10 + j] == (j < 4 ? 2.0f : 0.0f));
  LL_CHECK_ERROR(split(x, 1, {4, 5}), "[split] sizes [4, 5] add up to 9, but dim 1 of shape [3, 10] has 10");
  LL_CHECK_ERROR(split(x, 1, {11, -1}), "[split] size 1 is -1; sizes must be non-negative");
  LL_CHECK_ERROR(split(x, 2, {10}), "[split]");
}

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

TEST_CASE("embedding gathers rows for i32 and i64 ids of any shape", "[ops]") {
  Generator gen(11);
  const int64_t V = 10, D = 6;
  Tensor w = randn({V, D}, DType::f32, gen);
  auto wv = w.to_vector<float>();
  for (DType idt : {DType::i32, DType::i64}) {
    Tensor ids = randint(0, V, {2, 3}, idt, gen);
    Tensor out = embedding(w, ids);
    REQUIRE(out.shape() == Shape{2, 3, D});
    auto iv = ids.to_vector<int64_t>();
    auto ov = out.to_vector<float>();
    int64_t bad = 0;
    for (size_t n = 0; n < iv.size(); ++n)
      for (int64_t j = 0; j < D; ++j) bad += ov[n * D + j] != wv[iv[n] * D + j];
    CHECK(bad == 0);
  }
  // 0-dim ids give one row; a strided weight is read through its strides.
  Tensor one = embedding(w, Tensor::from_vector<int64_t>({7}, {}));
  CHECK(one.shape() == Shape{D});
  CHECK(one.to_vector<float>()[2] == wv[7 * D + 2]);
  Tensor wt = Tensor::arange(12, DType::f32).reshape({3, 4}).transpose(0, 1);  // [4,3]
  CHECK(embedding(wt, Tensor::from_vector<int32_t>({2}, {1})).to_vector<float>() == std::vector<float>{2, 6, 10});
}

TEST_CASE("embedding backward accumulates repeated ids", "[ops]") {
  Tensor w = Tensor::zeros({5, 2}).set_requires_grad(true);
  Tensor ids = Tensor::from_vector<int64_t>({1, 1, 3, 1}, {2, 2});
  Tensor g = Tensor::from_vector<float>({1, 2, 10, 20, 100, 200, 1000, 2000}, {2, 2, 2});
  embedding(w, ids).backward(g);
  CHECK(w.grad().to_vector<float>() == std::vector<float>{0, 0, 1011, 2022, 0, 0, 100, 200, 0, 0});
}

TEST_CASE("embedding backward matches a loop on a large input", "[ops]") {
  // N * D is past the threading threshold; many ids repeat.
  Generator gen(12);
  const int64_t V = 50, D = 256, N = 1000;
  Tensor w = randn({V, D}, DType::f64, gen).set_requires_grad(true);
  Tensor ids = randint(0, V, {N}, DType::i32, gen);
  Tensor g = randn({N, D}, DType::f64, gen);
  embedding(w, ids).backward(g);
  auto iv = ids.to_vector<int64_t>();
  auto gv = g.to_vector<double>();
  std::vector<double> want(V * D, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < D; ++j) want[iv[n] * D + j] += gv[n * D + j];
  auto got = w.grad().to_vector<double>();
  double err = 0;
  for (size_t i = 0; i < want.size(); ++i) err = std::max(err, std::abs(got[i] - want[i]));
  CHECK(err < 1e-12);
}

TEST_CASE("embedding errors name the id and the vocab size", "[ops]") {
  Tensor w = Tensor::zeros({10, 4});
  Tensor bad = Tensor::from_vector<int64_t>({1, 12, 3}, {3});
  CHECK_THROWS_AS(embedding(w, bad), loglin::Error);
  CHECK(contains(error_message([&] { embedding(w, bad); }), "[embedding] id 12 out of range for vocab 10"));
  CHECK(contains(error_message([&] { embedding(w, Tensor::from_vector<int32_t>({-1}, {1})); }),
                 "[embedding] id -1 out of range for vocab 10"));
  CHECK(contains(error_message([&] { embedding(w, Tensor::zeros({3})); }), "[embedding] ids must be i32 or i64"));
  CHECK(contains(error_message([&] { embedding(Tensor::zeros({10}), bad); }), "[embedding] weight must be [V, D]"));
}

TEST_CASE("embedding passes gradcheck", "[ops]") {
  auto rows = run_gradcheck("embedding");
  CHECK(rows.size() >= 2);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": " << row.result.message);
    CHECK(row.result.passed);
  }
}

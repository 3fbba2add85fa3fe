#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"

using namespace loglin;

TEST_CASE("views share storage and see writes", "[ops]") {
  Tensor x = Tensor::arange(12, DType::f32).reshape({3, 4});
  Tensor t = x.transpose(0, 1);
  Tensor s = x.slice(1, 1, 3);
  Tensor r = x.reshape({12});
  Tensor e = x.select(0, 1).unsqueeze(0).expand({5, 4});
  for (const Tensor* v : {&t, &s, &r, &e}) CHECK(v->shares_storage_with(x));
  x.data<float>()[5] = 100;  // row 1, col 1
  CHECK(t.to_vector<float>()[1 * 3 + 1] == 100);
  CHECK(s.to_vector<float>()[1 * 2 + 0] == 100);
  CHECK(r.to_vector<float>()[5] == 100);
  CHECK(e.to_vector<float>()[4 * 4 + 1] == 100);
}

TEST_CASE("reshape copies only when it must, view refuses", "[ops]") {
  Tensor x = randn({3, 4});
  CHECK(x.reshape({2, 6}).shares_storage_with(x));
  Tensor t = x.transpose(0, 1);
  Tensor flat = t.reshape({-1});
  CHECK_FALSE(flat.shares_storage_with(x));
  CHECK(flat.to_vector<float>() == t.contiguous().to_vector<float>());
  try {
    t.view({12});
    FAIL("view of a transpose should fail");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("[view] cannot view") != std::string::npos);
  }
  CHECK_THROWS_AS(x.reshape({5, -1}), loglin::Error);
  CHECK_THROWS_AS(x.reshape({-1, -1}), loglin::Error);
}

TEST_CASE("slice, narrow, select, squeeze bounds", "[ops]") {
  Tensor x = Tensor::arange(10, DType::f32);
  CHECK(x.slice(0, -3, 100).to_vector<float>() == std::vector<float>{7, 8, 9});
  CHECK(x.slice(0, 1, 8, 3).to_vector<float>() == std::vector<float>{1, 4, 7});
  CHECK(x.slice(0, 5, 2).numel() == 0);
  CHECK_THROWS_AS(x.narrow(0, 8, 3), loglin::Error);
  CHECK_THROWS_AS(x.select(0, 10), loglin::Error);
  CHECK(x.select(0, -1).item() == 9.0);
  CHECK_THROWS_AS(x.reshape({2, 5}).squeeze(0), loglin::Error);
}

TEST_CASE("permute and expand validate their arguments", "[ops]") {
  Tensor x = randn({2, 3, 4});
  CHECK(x.permute({2, 0, 1}).shape() == Shape{4, 2, 3});
  CHECK_THROWS_AS(x.permute({0, 0, 1}), loglin::Error);
  CHECK_THROWS_AS(x.permute({0, 1}), loglin::Error);
  CHECK(x.unsqueeze(1).expand({2, 5, 3, 4}).shape() == Shape{2, 5, 3, 4});
  CHECK(x.expand({7, -1, -1, -1}).shape() == Shape{7, 2, 3, 4});
  CHECK_THROWS_AS(x.expand({2, 5, 4}), loglin::Error);
}

TEST_CASE("gradients flow through views to the base", "[ops]") {
  Tensor x = randn({3, 4}).set_requires_grad(true);
  Tensor y = x.transpose(0, 1).slice(0, 1, 3).reshape({-1});  // columns 1..2 of x
  sum(y * 2.0).backward();
  std::vector<float> g = x.grad().to_vector<float>();
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) CHECK(g[i * 4 + j] == ((j == 1 || j == 2) ? 2.0f : 0.0f));
}

TEST_CASE("to(dtype) converts and carries gradients back", "[ops]") {
  Tensor x = Tensor::from_vector<float>({1.5f, -2.25f}, {2}).set_requires_grad(true);
  Tensor d = x.to(DType::f64);
  CHECK(d.dtype() == DType::f64);
  sum(d * d).backward();
  CHECK(x.grad().dtype() == DType::f32);
  CHECK(x.grad().to_vector<float>() == std::vector<float>{3.0f, -4.5f});
  Tensor b = x.detach().to(DType::bf16);
  CHECK(b.to_vector<float>() == std::vector<float>{1.5f, -2.25f});
}

// Tensor creation, element access, metadata and conversions.
#include <cstdint>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "test_util.h"

using namespace loglin;

TEST_CASE("from_vector and to_vector round-trip for every dtype", "[core]") {
  SECTION("f32") {
    Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(t.dtype() == DType::f32);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  }
  SECTION("f64") {
    std::vector<double> v{0.1, -2.5, 1e-300, 1e300};
    Tensor t = Tensor::from_vector<double>(v, {4});
    CHECK(t.dtype() == DType::f64);
    CHECK(t.to_vector<double>() == v);
  }
  SECTION("i32") {
    std::vector<int32_t> v{-2147483647 - 1, -1, 0, 2147483647};
    Tensor t = Tensor::from_vector<int32_t>(v, {2, 2});
    CHECK(t.dtype() == DType::i32);
    CHECK(t.to_vector<int32_t>() == v);
  }
  SECTION("i64") {
    std::vector<int64_t> v{INT64_MIN, -1, 0, (int64_t{1} << 53) + 1, INT64_MAX};
    Tensor t = Tensor::from_vector<int64_t>(v, {5});
    CHECK(t.dtype() == DType::i64);
    CHECK(t.to_vector<int64_t>() == v);  // no trip through double
  }
  SECTION("bf16") {
    std::vector<bf16> v{bf16(1.0f), bf16(-0.5f), bf16(3.0f)};
    Tensor t = Tensor::from_vector<bf16>(v, {3});
    CHECK(t.dtype() == DType::bf16);
    CHECK(t.to_vector<float>() == std::vector<float>{1.0f, -0.5f, 3.0f});
    std::vector<bf16> back = t.to_vector<bf16>();
    REQUIRE(back.size() == 3);
    for (size_t i = 0; i < 3; ++i) CHECK(back[i].bits == v[i].bits);
  }
  SECTION("0-dim") {
    Tensor t = Tensor::from_vector<float>({7}, {});
    CHECK(t.dim() == 0);
    CHECK(t.numel() == 1);
    CHECK(t.item() == 7.0);
  }
}

TEST_CASE("to_vector converts between dtypes", "[core]") {
  Tensor f = Tensor::from_vector<float>({1.5f, -2.0f, 3.25f}, {3});
  CHECK(f.to_vector<double>() == std::vector<double>{1.5, -2.0, 3.25});
  CHECK(f.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});  // truncates like a C++ cast
  Tensor i = Tensor::from_vector<int32_t>({1, 2, 3}, {3});
  CHECK(i.to_vector<float>() == std::vector<float>{1, 2, 3});
  CHECK(i.to_vector<bf16>()[2].bits == bf16(3.0f).bits);
}

TEST_CASE("from_vector rejects a size that does not match the shape", "[core]") {
  LL_CHECK_ERROR(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), "[from_vector]");
  LL_CHECK_ERROR(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), "[2, 2]");
  LL_CHECK_ERROR(Tensor::from_vector<int64_t>({}, {1}), "[from_vector]");
  CHECK(Tensor::from_vector<float>({}, {0, 3}).numel() == 0);
}

TEST_CASE("zeros, ones, full, empty", "[core]") {
  for (DType t : {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64}) {
    INFO(dtype_name(t));
    Tensor z = Tensor::zeros({2, 3}, t);
    CHECK(z.dtype() == t);
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.to_vector<double>() == std::vector<double>(6, 0.0));
    CHECK(Tensor::ones({4}, t).to_vector<double>() == std::vector<double>(4, 1.0));
    CHECK(Tensor::full({3, 1}, -3.0, t).to_vector<double>() == std::vector<double>(3, -3.0));
  }
  CHECK(Tensor::full({2}, 2.5).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
  CHECK(Tensor::full({1}, 1e12, DType::i64).to_vector<int64_t>()[0] == 1000000000000);
  CHECK(Tensor::zeros({0, 5}).numel() == 0);
  CHECK(Tensor::empty({3, 0}).to_vector<float>().empty());
  LL_CHECK_ERROR(Tensor::empty({2, -1}), "[empty]");
  LL_CHECK_ERROR(Tensor::zeros({-3}), "[empty]");
}

TEST_CASE("arange counts from 0 in every dtype", "[core]") {
  CHECK(Tensor::arange(5).dtype() == DType::i64);
  CHECK(Tensor::arange(5).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(Tensor::arange(4, DType::f32).to_vector<float>() == std::vector<float>{0, 1, 2, 3});
  CHECK(Tensor::arange(3, DType::f64).to_vector<double>() == std::vector<double>{0, 1, 2});
  CHECK(Tensor::arange(3, DType::i32).to_vector<int32_t>() == std::vector<int32_t>{0, 1, 2});
  CHECK(Tensor::arange(3, DType::bf16).to_vector<float>() == std::vector<float>{0, 1, 2});
  CHECK(Tensor::arange(0).numel() == 0);
}

TEST_CASE("arange is exact past 2^24 for integer dtypes", "[core]") {
  // 2^24 + 1 is the first integer a float cannot hold.
  const int64_t n = (int64_t{1} << 24) + 3;
  Tensor t = Tensor::arange(n, DType::i32);
  const int32_t* p = t.data<int32_t>();
  CHECK(p[n - 3] == (1 << 24));
  CHECK(p[n - 2] == (1 << 24) + 1);
  CHECK(p[n - 1] == (1 << 24) + 2);
}

TEST_CASE("scalar and item", "[core]") {
  Tensor s = Tensor::scalar(2.5);
  CHECK(s.dim() == 0);
  CHECK(s.shape().empty());
  CHECK(s.numel() == 1);
  CHECK(s.dtype() == DType::f32);
  CHECK(s.item() == 2.5);
  CHECK(Tensor::scalar(-4, DType::i64).item() == -4.0);
  CHECK(Tensor::scalar(0.1, DType::f64).item() == 0.1);
  CHECK(Tensor::scalar(1.0, DType::bf16).item() == 1.0);
  CHECK(Tensor::ones({1, 1, 1}).item() == 1.0);
  LL_CHECK_ERROR(Tensor::ones({2}).item(), "[item]");
  LL_CHECK_ERROR(Tensor::ones({0}).item(), "[item]");
}

TEST_CASE("contiguous strides, numel and shape strings", "[core]") {
  CHECK(contiguous_strides({2, 3, 4}) == Shape{12, 4, 1});
  CHECK(contiguous_strides({5}) == Shape{1});
  CHECK(contiguous_strides({}).empty());
  CHECK(contiguous_strides({2, 0, 3}) == Shape{3, 3, 1});
  CHECK(shape_numel({2, 3, 4}) == 24);
  CHECK(shape_numel({}) == 1);
  CHECK(shape_numel({3, 0}) == 0);
  CHECK(shape_str({2, 3}) == "[2, 3]");
  CHECK(shape_str({}) == "[]");

  Tensor t = Tensor::zeros({2, 3, 4});
  CHECK(t.strides() == Shape{12, 4, 1});
  CHECK(t.offset() == 0);
  CHECK(t.dim() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.size(0) == 2);
  CHECK(t.size(-1) == 4);
  CHECK(t.is_contiguous());
  LL_CHECK_ERROR(t.size(3), "[size]");
  LL_CHECK_ERROR(t.size(-4), "[size]");
}

TEST_CASE("normalize_dim wraps negative dims and names the op", "[core]") {
  CHECK(normalize_dim(-1, 3, "op") == 2);
  CHECK(normalize_dim(0, 3, "op") == 0);
  CHECK(normalize_dim(-3, 3, "op") == 0);
  LL_CHECK_ERROR(normalize_dim(3, 3, "myop"), "[myop]");
  LL_CHECK_ERROR(normalize_dim(-4, 3, "myop"), "[myop]");
}

TEST_CASE("undefined tensors and typed access fail clearly", "[core]") {
  Tensor u;
  CHECK_FALSE(u.defined());
  CHECK(u.str() == "Tensor(undefined)");
  LL_CHECK_ERROR(u.shape(), "[tensor]");
  LL_CHECK_ERROR(u.numel(), "undefined");

  Tensor f = Tensor::ones({2});
  CHECK(f.data<float>()[1] == 1.0f);
  LL_CHECK_ERROR(f.data<double>(), "[tensor]");
  LL_CHECK_ERROR(f.data<int32_t>(), "f32");
}

TEST_CASE("copying a Tensor copies the handle, not the data", "[core]") {
  Tensor a = Tensor::zeros({3});
  Tensor b = a;
  b.data<float>()[1] = 5.0f;
  CHECK(a.to_vector<float>() == std::vector<float>{0, 5, 0});
  CHECK(a.shares_storage_with(b));
  CHECK(a.impl_ptr() == b.impl_ptr());
}

TEST_CASE("contiguous_copy, copy_into and fill", "[core]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor c = core::contiguous_copy(a);
  CHECK_FALSE(c.shares_storage_with(a));
  CHECK(c.to_vector<float>() == a.to_vector<float>());
  c.data<float>()[0] = 100;
  CHECK(a.to_vector<float>()[0] == 1.0f);  // a real copy

  Tensor d = core::contiguous_copy(a, DType::f64);
  CHECK(d.dtype() == DType::f64);
  CHECK(d.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});

  SECTION("copy_into broadcasts a row") {
    Tensor dst = Tensor::zeros({2, 3});
    core::copy_into(dst, Tensor::from_vector<float>({7, 8, 9}, {3}));
    CHECK(dst.to_vector<float>() == std::vector<float>{7, 8, 9, 7, 8, 9});
  }
  SECTION("copy_into converts dtypes") {
    Tensor dst = Tensor::zeros({3}, DType::i64);
    core::copy_into(dst, Tensor::from_vector<double>({1.0, -2.0, 3.0}, {3}));
    CHECK(dst.to_vector<int64_t>() == std::vector<int64_t>{1, -2, 3});
  }
  SECTION("copy_into rejects shapes that do not broadcast to the destination") {
    Tensor dst = Tensor::zeros({2, 3});
    LL_CHECK_ERROR(core::copy_into(dst, Tensor::zeros({4})), "[copy]");
    LL_CHECK_ERROR(core::copy_into(dst, Tensor::zeros({3, 3})), "[copy]");
    // A source with more dims than the destination: [2,2,3] cannot go into [2,3].
    LL_CHECK_ERROR(core::copy_into(dst, Tensor::zeros({2, 2, 3})), "[copy]");
    // Broadcasting the destination itself is not a copy either.
    LL_CHECK_ERROR(core::copy_into(Tensor::zeros({1, 3}), Tensor::zeros({2, 3})), "[copy]");
    CHECK(dst.to_vector<float>() == std::vector<float>(6, 0.0f));
  }
  SECTION("fill writes every element of a strided view") {
    Tensor base = Tensor::zeros({3, 4});
    core::fill(core::as_strided(base, {3, 2}, {4, 2}, 1), 1.0);  // columns 1 and 3
    CHECK(base.to_vector<float>() == std::vector<float>{0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1});
  }
}

TEST_CASE("dtype conversion with to()", "[core]") {
  Tensor a = Tensor::from_vector<float>({1.0f, 2.5f, -3.0f}, {3});
  Tensor b = a.to(DType::bf16);
  CHECK(b.dtype() == DType::bf16);
  CHECK(b.to_vector<float>() == std::vector<float>{1.0f, 2.5f, -3.0f});
  CHECK(b.to(DType::f32).to_vector<float>() == a.to_vector<float>());
  Tensor same = a.to(DType::f32);
  CHECK(same.shares_storage_with(a));
  Tensor i = a.to(DType::i32);
  CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{1, 2, -3});
}

// Views share storage with their base: writes through the base show up in the
// view and the other way round; view() refuses what only a copy can do.
#include <vector>

#include "core/tensor.h"
#include "test_util.h"

using namespace loglin;

namespace {

// [rows, cols] f32 tensor holding 0, 1, 2, ... row-major.
Tensor iota(const Shape& shape) { return Tensor::arange(shape_numel(shape), DType::f32).reshape(shape); }

std::vector<float> vals(const Tensor& t) { return t.to_vector<float>(); }

}  // namespace

TEST_CASE("reshape and view of a contiguous tensor share storage", "[core]") {
  Tensor base = iota({2, 6});
  Tensor r = base.reshape({3, 4});
  Tensor v = base.view({4, -1});
  Tensor flat = base.reshape({-1});
  CHECK(r.shape() == Shape{3, 4});
  CHECK(v.shape() == Shape{4, 3});
  CHECK(flat.shape() == Shape{12});
  CHECK(r.shares_storage_with(base));
  CHECK(v.shares_storage_with(base));
  CHECK(flat.shares_storage_with(base));
  CHECK(r.is_contiguous());

  base.data<float>()[5] = -1.0f;
  CHECK(vals(r)[5] == -1.0f);
  CHECK(vals(v)[5] == -1.0f);
  core::copy_into(r, Tensor::zeros({3, 4}));
  CHECK(vals(base) == std::vector<float>(12, 0.0f));
}

TEST_CASE("permute and transpose reorder strides over the same storage", "[core]") {
  Tensor base = iota({2, 3, 4});
  Tensor p = base.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK(p.shares_storage_with(base));
  CHECK_FALSE(p.is_contiguous());
  // p[k][i][j] == base[i][j][k]
  std::vector<float> pv = vals(p);
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(pv[(k * 2 + i) * 3 + j] == static_cast<float>(i * 12 + j * 4 + k));

  Tensor m = iota({2, 3});
  Tensor t = m.transpose(0, 1);
  CHECK(t.shape() == Shape{3, 2});
  CHECK(vals(t) == std::vector<float>{0, 3, 1, 4, 2, 5});
  CHECK(m.transpose(-1, -2).strides() == Shape{1, 3});
  m.data<float>()[1] = 42.0f;  // m[0][1] is t[1][0]
  CHECK(vals(t)[2] == 42.0f);
  // Writing through the view changes the base.
  core::copy_into(t.select(0, 2), Tensor::from_vector<float>({-7, -8}, {2}));  // column 2 of m
  CHECK(vals(m) == std::vector<float>{0, 42, -7, 3, 4, -8});

  LL_CHECK_ERROR(base.permute({0, 1}), "[permute]");
  LL_CHECK_ERROR(base.permute({0, 1, 1}), "[permute]");
  LL_CHECK_ERROR(base.permute({0, 1, 3}), "[permute]");
  LL_CHECK_ERROR(base.transpose(0, 3), "[transpose]");
}

TEST_CASE("narrow, slice and select are windows into the base", "[core]") {
  Tensor base = Tensor::zeros({3, 4});

  SECTION("narrow along columns") {
    Tensor n = base.narrow(1, 1, 2);
    CHECK(n.shape() == Shape{3, 2});
    CHECK(n.offset() == 1);
    CHECK(n.shares_storage_with(base));
    CHECK_FALSE(n.is_contiguous());
    core::copy_into(n, Tensor::ones({3, 2}));
    CHECK(vals(base) == std::vector<float>{0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0});
    LL_CHECK_ERROR(base.narrow(1, 3, 2), "[narrow]");
    LL_CHECK_ERROR(base.narrow(0, -1, 1), "[narrow]");
  }
  SECTION("narrow along rows stays contiguous") {
    Tensor n = base.narrow(0, 1, 2);
    CHECK(n.is_contiguous());
    CHECK(n.offset() == 4);
    base.data<float>()[4] = 9.0f;
    CHECK(vals(n)[0] == 9.0f);
  }
  SECTION("slice with a step and python-style bounds") {
    Tensor b = iota({10});
    CHECK(vals(b.slice(0, 1, 8, 3)) == std::vector<float>{1, 4, 7});
    CHECK(vals(b.slice(0, -3, 10)) == std::vector<float>{7, 8, 9});
    CHECK(vals(b.slice(0, 8, 100)) == std::vector<float>{8, 9});
    CHECK(b.slice(0, 5, 2).numel() == 0);
    Tensor s = b.slice(0, 0, 10, 2);
    CHECK(s.strides() == Shape{2});
    CHECK_FALSE(s.is_contiguous());
    core::fill(s, -1.0);
    CHECK(vals(b) == std::vector<float>{-1, 1, -1, 3, -1, 5, -1, 7, -1, 9});
    LL_CHECK_ERROR(b.slice(0, 0, 5, 0), "[slice]");
    LL_CHECK_ERROR(b.slice(1, 0, 5), "[slice]");
  }
  SECTION("select drops the dim") {
    Tensor m = iota({3, 4});
    Tensor row = m.select(0, 1);
    Tensor col = m.select(1, -1);
    CHECK(row.shape() == Shape{4});
    CHECK(vals(row) == std::vector<float>{4, 5, 6, 7});
    CHECK(row.is_contiguous());
    CHECK(vals(col) == std::vector<float>{3, 7, 11});
    CHECK_FALSE(col.is_contiguous());
    m.data<float>()[7] = 70.0f;
    CHECK(vals(row)[3] == 70.0f);
    CHECK(vals(col)[1] == 70.0f);
    LL_CHECK_ERROR(m.select(0, 3), "[select]");
    LL_CHECK_ERROR(m.select(0, -4), "[select]");
  }
}

TEST_CASE("expand repeats with zero strides and shares storage", "[core]") {
  Tensor col = Tensor::from_vector<float>({1, 2, 3}, {3, 1});
  Tensor e = col.expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(e.shares_storage_with(col));
  CHECK_FALSE(e.is_contiguous());
  std::vector<float> ev = vals(e);
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) CHECK(ev[(b * 3 + i) * 4 + j] == static_cast<float>(i + 1));
  col.data<float>()[2] = 30.0f;
  CHECK(vals(e).back() == 30.0f);

  CHECK(col.expand({-1, 5}).shape() == Shape{3, 5});
  LL_CHECK_ERROR(col.expand({4, 4}), "[expand]");
  LL_CHECK_ERROR(col.expand({4}), "[expand]");
  LL_CHECK_ERROR(col.expand({-1, 3, 4}), "[expand]");
  LL_CHECK_ERROR(col.expand({3, -2}), "[expand]");
}

TEST_CASE("unsqueeze and squeeze", "[core]") {
  Tensor m = iota({2, 3});
  Tensor u = m.unsqueeze(1);
  CHECK(u.shape() == Shape{2, 1, 3});
  CHECK(u.shares_storage_with(m));
  CHECK(m.unsqueeze(-1).shape() == Shape{2, 3, 1});
  CHECK(m.unsqueeze(0).shape() == Shape{1, 2, 3});
  CHECK(u.squeeze(1).shape() == Shape{2, 3});
  // unsqueeze of a non-contiguous tensor is still a view
  Tensor tu = m.transpose(0, 1).unsqueeze(0);
  CHECK(tu.shape() == Shape{1, 3, 2});
  CHECK(tu.shares_storage_with(m));
  CHECK(vals(tu) == std::vector<float>{0, 3, 1, 4, 2, 5});
  LL_CHECK_ERROR(m.squeeze(0), "[squeeze]");
  LL_CHECK_ERROR(m.unsqueeze(3), "[unsqueeze]");
}

TEST_CASE("view refuses a non-viewable transpose, reshape copies it", "[core]") {
  Tensor m = iota({3, 4});
  Tensor t = m.transpose(0, 1);  // [4,3], strides [1,4]
  LL_CHECK_ERROR(t.view({12}), "[view]");
  LL_CHECK_ERROR(t.view({12}), "reshape");
  CHECK_FALSE(core::view_strides(t, {12}).has_value());

  Tensor r = t.reshape({12});
  CHECK_FALSE(r.shares_storage_with(m));
  CHECK(r.is_contiguous());
  CHECK(vals(r) == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  m.data<float>()[0] = 100.0f;
  CHECK(vals(r)[0] == 0.0f);  // a copy does not follow the base

  // Splitting or merging dims that stay contiguous with each other is still a view.
  Tensor rows = iota({4, 6}).narrow(0, 1, 2);  // rows 1..2, contiguous
  CHECK(core::view_strides(rows, {12}).has_value());
  Tensor half_cols = iota({4, 6}).narrow(1, 0, 3);  // [4,3] with row stride 6
  auto st = core::view_strides(half_cols, {4, 3, 1});
  REQUIRE(st.has_value());
  CHECK((*st)[0] == 6);
  CHECK((*st)[1] == 1);
  CHECK_FALSE(core::view_strides(half_cols, {12}).has_value());
  // a transposed matrix viewed with its last dim split stays a view
  auto split = core::view_strides(t, {2, 2, 3});
  REQUIRE(split.has_value());
  CHECK(*split == Shape{2, 1, 4});

  LL_CHECK_ERROR(m.view({5, -1}), "[view]");
  LL_CHECK_ERROR(m.view({-1, -1}), "[view]");
  LL_CHECK_ERROR(m.reshape({5, 5}), "[reshape]");
}

TEST_CASE("an expanded tensor cannot be flattened as a view", "[core]") {
  Tensor col = Tensor::from_vector<float>({1, 2, 3}, {3, 1});
  Tensor e = col.expand({3, 4});
  LL_CHECK_ERROR(e.view({12}), "[view]");
  Tensor r = e.reshape({12});
  CHECK_FALSE(r.shares_storage_with(col));
  CHECK(vals(r) == std::vector<float>{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  // Splitting the stretched dim keeps the zero stride and stays a view.
  Tensor s = e.view({3, 2, 2});
  CHECK(s.shares_storage_with(col));
  CHECK(s.strides() == Shape{1, 0, 0});
  // Empty windows are fine at the very end.
  Tensor m = iota({3, 4});
  CHECK(m.narrow(1, 4, 0).shape() == Shape{3, 0});
  CHECK(m.slice(0, 3, 3).numel() == 0);
}

TEST_CASE("contiguous() is a no-op for contiguous tensors and a copy otherwise", "[core]") {
  Tensor m = iota({2, 3});
  CHECK(m.contiguous().shares_storage_with(m));
  Tensor t = m.transpose(0, 1);
  Tensor c = t.contiguous();
  CHECK_FALSE(c.shares_storage_with(m));
  CHECK(c.is_contiguous());
  CHECK(vals(c) == vals(t));
  Tensor cl = m.clone();
  CHECK_FALSE(cl.shares_storage_with(m));
  CHECK(vals(cl) == vals(m));
}

TEST_CASE("is_contiguous ignores size-1 dims", "[core]") {
  CHECK(Tensor::zeros({3, 1, 4}).is_contiguous());
  CHECK(core::as_strided(Tensor::zeros({12}), {3, 1, 4}, {4, 99, 1}, 0).is_contiguous());
  CHECK_FALSE(core::as_strided(Tensor::zeros({12}), {3, 4}, {1, 3}, 0).is_contiguous());
  CHECK(Tensor::scalar(1).is_contiguous());
}

TEST_CASE("as_strided checks that the view stays inside the storage", "[core]") {
  Tensor base = iota({6});
  CHECK(vals(core::as_strided(base, {3}, {2}, 1)) == std::vector<float>{1, 3, 5});
  CHECK(vals(core::as_strided(base, {2, 2}, {1, 1}, 0)) == std::vector<float>{0, 1, 1, 2});  // overlapping
  CHECK(vals(core::as_strided(base, {3}, {-1}, 2)) == std::vector<float>{2, 1, 0});        // negative stride
  CHECK(core::as_strided(base, {0, 3}, {3, 1}, 6).numel() == 0);  // empty views read nothing

  LL_CHECK_ERROR(core::as_strided(base, {3}, {2}, 2), "[as_strided]");   // reaches element 6
  LL_CHECK_ERROR(core::as_strided(base, {7}, {1}, 0), "[as_strided]");
  LL_CHECK_ERROR(core::as_strided(base, {2}, {1}, -1), "[as_strided]");
  LL_CHECK_ERROR(core::as_strided(base, {3}, {-1}, 1), "[as_strided]");  // reaches element -1
  LL_CHECK_ERROR(core::as_strided(base, {2, 3}, {3}, 0), "[as_strided]");
  // A view's capacity is the whole storage, not the view's numel.
  Tensor part = base.narrow(0, 0, 2);
  CHECK(vals(core::as_strided(part, {2}, {1}, 4)) == std::vector<float>{4, 5});
}

TEST_CASE("detach and views of views keep sharing", "[core]") {
  Tensor base = iota({4, 4});
  Tensor v = base.transpose(0, 1).narrow(0, 1, 2).select(1, 3);  // base[3][1], base[3][2]
  CHECK(vals(v) == std::vector<float>{13, 14});
  CHECK(v.shares_storage_with(base));
  Tensor d = base.detach();
  CHECK(d.shares_storage_with(base));
  d.data<float>()[13] = -13.0f;
  CHECK(vals(v)[0] == -13.0f);
  CHECK_FALSE(base.shares_storage_with(Tensor()));
  CHECK_FALSE(Tensor().shares_storage_with(base));
}

TEST_CASE("views of 0-dim and 1-element tensors", "[core]") {
  Tensor s = Tensor::scalar(5.0);
  Tensor e = s.expand({2, 3});
  CHECK(e.shape() == Shape{2, 3});
  CHECK(e.strides() == Shape{0, 0});
  CHECK(vals(e) == std::vector<float>(6, 5.0f));
  CHECK(s.reshape({1, 1}).shape() == Shape{1, 1});
  CHECK(s.unsqueeze(0).shape() == Shape{1});
  CHECK(Tensor::ones({1, 1}).view({}).dim() == 0);
  Tensor v = iota({4});
  Tensor one = v.select(0, 2);
  CHECK(one.dim() == 0);
  CHECK(one.item() == 2.0);
  CHECK(one.shares_storage_with(v));
  CHECK(vals(v.slice(0, 0, -1)) == std::vector<float>{0, 1, 2});
  CHECK(vals(v.slice(0, -100, 100)) == std::vector<float>{0, 1, 2, 3});
}

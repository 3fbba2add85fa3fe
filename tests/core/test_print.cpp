// Tensor::str() and operator<<: shape, dtype, values, truncation.
#include <sstream>

#include "core/tensor.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::contains;

TEST_CASE("str shows shape, dtype, device and values", "[core]") {
  Tensor t = Tensor::from_vector<float>({1.5f, 2, 3, 4, 5, -6.25f}, {2, 3});
  std::string s = t.str();
  INFO(s);
  CHECK(contains(s, "shape=[2, 3]"));
  CHECK(contains(s, "dtype=f32"));
  CHECK(contains(s, "device=cpu"));
  CHECK(contains(s, "[[1.5, 2, 3],\n [4, 5, -6.25]]"));
  CHECK_FALSE(contains(s, "..."));
  CHECK_FALSE(contains(s, "requires_grad"));

  std::ostringstream os;
  os << t;
  CHECK(os.str() == s);
}

TEST_CASE("str prints each dtype's values and logical order of views", "[core]") {
  CHECK(contains(Tensor::arange(3).str(), "dtype=i64"));
  CHECK(contains(Tensor::arange(3).str(), "[0, 1, 2]"));
  CHECK(contains(Tensor::arange(3, DType::i32).str(), "dtype=i32"));
  std::string b = Tensor::full({2}, 0.5, DType::bf16).str();
  CHECK(contains(b, "dtype=bf16"));
  CHECK(contains(b, "[0.5, 0.5]"));
  CHECK(contains(Tensor::full({1}, 0.25, DType::f64).str(), "dtype=f64"));
  CHECK(contains(Tensor::scalar(3.5).str(), "shape=[]"));
  CHECK(contains(Tensor::scalar(3.5).str(), "3.5"));
  CHECK(contains(Tensor::zeros({0, 2}).str(), "shape=[0, 2]"));

  Tensor m = Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2});
  CHECK(contains(m.transpose(0, 1).str(), "[[1, 3],\n [2, 4]]"));
}

TEST_CASE("long tensors are truncated with ...", "[core]") {
  std::string s = Tensor::arange(1000, DType::f32).str();
  INFO(s);
  CHECK(contains(s, "shape=[1000]"));
  CHECK(contains(s, "..."));
  CHECK(contains(s, "[0, 1, 2"));
  CHECK_FALSE(contains(s, "999"));
  CHECK(s.size() < 600);

  std::string m = Tensor::arange(100 * 100, DType::i64).reshape({100, 100}).str();
  INFO(m);
  CHECK(contains(m, "shape=[100, 100]"));
  CHECK(contains(m, "..."));
  CHECK_FALSE(contains(m, "9999"));
  CHECK(m.size() < 600);

  // Exactly at the limit nothing is cut.
  std::string edge = Tensor::arange(64, DType::i32).str();
  CHECK_FALSE(contains(edge, "..."));
  CHECK(contains(edge, "63]"));
}

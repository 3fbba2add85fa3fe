// bf16 tensors in the ops that compute in f32 (elementwise, reductions,
// softmax, the norms, cross-entropy): f32 arithmetic inside, bf16 out, so each result is the f32
// result rounded to bf16 once, and gradients come back in bf16 the same way.
// Ops without a bf16 path refuse it with an error naming the tensor's real
// dtype and device.
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

// Same dtype, shape and bits.
bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();  // bf16 -> f32 is exact
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

// Values that bf16 holds exactly, so the f32 reference starts from the same numbers.
Tensor bf16_leaf(const Shape& shape, Generator& gen, double lo = -2, double hi = 2) {
  return rand(shape, lo, hi, DType::f32, gen).to(DType::bf16).detach().set_requires_grad(true);
}
Tensor f32_leaf(const Tensor& b) { return b.to(DType::f32).detach().set_requires_grad(true); }

}  // namespace

TEST_CASE("bf16: binary and scalar ops compute in f32 and round once", "[ops][bf16]") {
  Generator gen(1);
  struct Case {
    std::string name;
    std::function<Tensor(const Tensor&, const Tensor&)> f;
    bool one_op;  // one rounding: the bits equal the f32 result's rounded; chains round after each op
  };
  const std::vector<Case> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, true},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, true},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, true},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, true},
      {"scalars", [](const Tensor& a, const Tensor& b) { return (a * 3.0 + 0.5) - b / 4.0; }, false},
      {"broadcast", [](const Tensor& a, const Tensor& b) { return a * b.sum({0}, true); }, false},
  };
  for (const auto& [name, f, one_op] : cases) {
    INFO(name);
    Tensor a = bf16_leaf({5, 7}, gen), b = bf16_leaf({5, 7}, gen, 0.5, 2);
    Tensor a32 = f32_leaf(a), b32 = f32_leaf(b);
    Tensor y = f(a, b), y32 = f(a32, b32);
    CHECK(y.dtype() == DType::bf16);
    if (one_op) CHECK(same_bits(y, y32.to(DType::bf16)));
    CHECK(loglin_test::rel_err(y.to(DType::f32), y32) < 1e-2);
    y.sum().backward();
    y32.sum().backward();
    REQUIRE(a.grad().defined());
    CHECK(a.grad().dtype() == DType::bf16);
    CHECK(loglin_test::rel_err(a.grad().to(DType::f32), a32.grad()) < 1e-2);
    CHECK(loglin_test::rel_err(b.grad().to(DType::f32), b32.grad()) < 1e-2);
  }
  // The example of issue 21: o * dout, both bf16.
  Tensor o = bf16_leaf({3, 4}, gen).detach(), dout = bf16_leaf({3, 4}, gen).detach();
  CHECK(same_bits(o * dout, (o.to(DType::f32) * dout.to(DType::f32)).to(DType::bf16)));
  // Mixed dtypes stay an error: convert one side.
  LL_CHECK_ERROR(o * o.to(DType::f32), "dtypes bf16 and f32 differ");
}

TEST_CASE("bf16: unary ops compute in f32 and round once", "[ops][bf16]") {
  Generator gen(2);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&)>>> cases = {
      {"neg", [](const Tensor& x) { return neg(x); }},           {"exp", [](const Tensor& x) { return exp(x); }},
      {"log", [](const Tensor& x) { return log(x + 3.0); }},     {"sqrt", [](const Tensor& x) { return sqrt(x + 3.0); }},
      {"pow", [](const Tensor& x) { return pow(x + 3.0, 1.5); }}, {"tanh", [](const Tensor& x) { return tanh(x); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }},   {"relu", [](const Tensor& x) { return relu(x); }},
      {"silu", [](const Tensor& x) { return silu(x); }},         {"gelu", [](const Tensor& x) { return gelu(x); }},
      {"softplus", [](const Tensor& x) { return softplus(x); }},
  };
  for (const auto& [name, f] : cases) {
    INFO(name);
    Tensor x = bf16_leaf({4, 9}, gen);
    Tensor x32 = f32_leaf(x);
    Tensor y = f(x), y32 = f(x32);
    CHECK(y.dtype() == DType::bf16);
    CHECK(loglin_test::rel_err(y.to(DType::f32), y32) < 1e-2);
    y.sum().backward();
    y32.sum().backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().dtype() == DType::bf16);
    CHECK(loglin_test::rel_err(x.grad().to(DType::f32), x32.grad()) < 1e-2);
  }
  // One op with no compound around it: exactly the f32 result rounded.
  Tensor x = bf16_leaf({64}, gen).detach();
  CHECK(same_bits(tanh(x), tanh(x.to(DType::f32)).to(DType::bf16)));
}

TEST_CASE("bf16: where, masked_fill, swiglu and cumsum compute in f32 too", "[ops][bf16]") {
  Generator gen(5);
  Tensor a = bf16_leaf({4, 6}, gen), b = bf16_leaf({4, 6}, gen);
  const Tensor a32 = a.to(DType::f32).detach(), b32 = b.to(DType::f32).detach();
  const Tensor cond = Tensor::from_vector<float>({1, 0, 1, 0, 0, 1}, {6}).to(DType::i64);
  const Tensor mask = Tensor::from_vector<float>({0, 1, 1, 0, 1, 0}, {6}).to(DType::i64);
  CHECK(same_bits(where(cond, a, b), where(cond, a32, b32).to(DType::bf16)));
  CHECK(same_bits(masked_fill(a, mask, 0.25), masked_fill(a32, mask, 0.25).to(DType::bf16)));
  CHECK(same_bits(swiglu(a, b), swiglu(a32, b32).to(DType::bf16)));
  CHECK(same_bits(cumsum(a, 1), cumsum(a32, 1).to(DType::bf16)));
  (swiglu(a, b).sum() + where(cond, a, b).sum()).backward();
  CHECK(a.grad().dtype() == DType::bf16);
  CHECK(b.grad().dtype() == DType::bf16);
}

TEST_CASE("bf16: reductions accumulate in f32 and return bf16", "[ops][bf16]") {
  Generator gen(3);
  Tensor x = bf16_leaf({6, 33}, gen);
  const Tensor x32 = x.to(DType::f32).detach();
  CHECK(same_bits(x.sum(), x32.sum().to(DType::bf16)));
  CHECK(same_bits(x.sum({1}), x32.sum({1}).to(DType::bf16)));
  CHECK(same_bits(x.mean({0}, true), x32.mean({0}, true).to(DType::bf16)));
  CHECK(same_bits(max(x, 1), max(x32, 1).to(DType::bf16)));
  CHECK(same_bits(max(x), max(x32).to(DType::bf16)));
  CHECK(same_bits(sum_to_shape(x, {1, 33}), sum_to_shape(x32, {1, 33}).to(DType::bf16)));
  Tensor m = x.mean();
  CHECK(m.dtype() == DType::bf16);
  m.backward();
  CHECK(x.grad().dtype() == DType::bf16);
  CHECK(loglin_test::rel_err(x.grad().to(DType::f32), Tensor::full({6, 33}, 1.0 / (6 * 33))) < 1e-2);
}

TEST_CASE("bf16: cross_entropy on bf16 logits computes in f32", "[ops][bf16]") {
  Generator gen(4);
  Tensor logits = bf16_leaf({7, 11}, gen, -3, 3);
  Tensor l32 = f32_leaf(logits);
  Tensor targets = randint(0, 11, {7}, DType::i64, gen);
  Tensor loss = cross_entropy(logits, targets), loss32 = cross_entropy(l32, targets);
  CHECK(loss.dtype() == DType::bf16);
  CHECK(same_bits(loss, loss32.to(DType::bf16)));
  loss.backward();
  loss32.backward();
  CHECK(logits.grad().dtype() == DType::bf16);
  CHECK(loglin_test::rel_err(logits.grad().to(DType::f32), l32.grad()) < 1e-2);
}

TEST_CASE("bf16: softmax, log_softmax and the norms compute in f32 and round once", "[ops][bf16]") {
  Generator gen(6);
  Tensor x = bf16_leaf({4, 16}, gen), z = bf16_leaf({4, 16}, gen);
  // Mixed precision keeps f32 weights beside bf16 activations; bf16 weights work too.
  Tensor w32 = rand({16}, 0.5, 1.5, DType::f32, gen).to(DType::bf16).to(DType::f32).detach().set_requires_grad(true);
  Tensor b32 = rand({16}, -0.5, 0.5, DType::f32, gen).to(DType::bf16).to(DType::f32).detach().set_requires_grad(true);
  const std::vector<std::pair<std::string, std::function<Tensor(const Tensor&, const Tensor&)>>> cases = {
      {"softmax", [](const Tensor& a, const Tensor&) { return softmax(a, -1); }},
      {"log_softmax", [](const Tensor& a, const Tensor&) { return log_softmax(a, 0); }},
      {"layer_norm", [&](const Tensor& a, const Tensor&) { return layer_norm(a, w32, b32, 1e-5); }},
      {"rms_norm", [&](const Tensor& a, const Tensor&) { return rms_norm(a, w32, 1e-6); }},
      {"rms_norm bf16 weight",  // the f32 reference with the same weight in f32
       [&](const Tensor& a, const Tensor&) { return rms_norm(a, w32.to(a.dtype()), 1e-6); }},
      {"rms_norm_gated", [&](const Tensor& a, const Tensor& g) { return rms_norm_gated(a, g, w32, 1e-6); }},
  };
  for (const auto& [name, f] : cases) {
    INFO(name);
    x.zero_grad();
    z.zero_grad();
    Tensor x32 = f32_leaf(x), z32 = f32_leaf(z);
    Tensor y = f(x, z), y32 = f(x32, z32);
    CHECK(y.dtype() == DType::bf16);
    CHECK(same_bits(y, y32.to(DType::bf16)));
    Generator pg(7);
    const Tensor probe = randn(y.shape(), DType::f32, pg);
    sum(y.to(DType::f32) * probe).backward();
    sum(y32 * probe).backward();
    REQUIRE(x.grad().defined());
    CHECK(x.grad().dtype() == DType::bf16);
    CHECK(loglin_test::rel_err(x.grad().to(DType::f32), x32.grad()) < 2e-2);
  }
}

TEST_CASE("bf16: an op without a bf16 path names the tensor's dtype and device", "[ops][bf16]") {
  Tensor x = Tensor::ones({2, 3}, DType::bf16);
  LL_CHECK_ERROR(dropout(x, 0.5, true), "[dropout] needs an f32 or f64 tensor, got bf16 on cpu");
  LL_CHECK_ERROR(softmax(Tensor::ones({2, 3}, DType::i64)), "got i64 on cpu");
}

// bf16 on CUDA in the ops that compute in f32: the same results as the CPU
// (which runs the same f32-between-casts path), and errors that name the
// tensor's real device.
#include <cstring>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

Tensor bf16_values(const Shape& shape, Generator& gen) { return rand(shape, -2, 2, DType::f32, gen).to(DType::bf16); }

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("cuda: bf16 elementwise ops, reductions and cross-entropy match the cpu", "[cuda][ops][bf16]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(7);
  const Tensor o = bf16_values({33, 65}, gen), dout = bf16_values({33, 65}, gen);
  const Tensor og = o.to(Device::cuda()), dg = dout.to(Device::cuda());
  // The example of issue 21: o * dout with both in bf16 on the GPU.
  Tensor prod = og * dg;
  CHECK(prod.dtype() == DType::bf16);
  CHECK(prod.device() == Device::cuda());
  CHECK(same_values(prod.to(Device::cpu()), o * dout));  // one f32 product, rounded once, on either device
  CHECK(same_values((og + dg).to(Device::cpu()), o + dout));
  CHECK(same_values(tanh(og).to(Device::cpu()), tanh(o)));
  CHECK(same_values((og * 0.5).to(Device::cpu()), o * 0.5));
  // Reductions sum in another order on the GPU: close, not equal.
  CHECK(loglin_test::rel_err(og.sum({1}).to(Device::cpu()).to(DType::f32), o.sum({1}).to(DType::f32)) < 1e-2);
  CHECK(og.mean().dtype() == DType::bf16);

  Tensor logits = bf16_values({16, 40}, gen).to(Device::cuda()).detach().set_requires_grad(true);
  Tensor targets = randint(0, 40, {16}, DType::i64, gen).to(Device::cuda());
  Tensor loss = cross_entropy(logits, targets);
  CHECK(loss.dtype() == DType::bf16);
  loss.backward();
  REQUIRE(logits.grad().defined());
  CHECK(logits.grad().dtype() == DType::bf16);
  CHECK(logits.grad().device() == Device::cuda());
  Tensor cpu_logits = logits.detach().to(Device::cpu()).set_requires_grad(true);
  Tensor cpu_loss = cross_entropy(cpu_logits, targets.to(Device::cpu()));
  cpu_loss.backward();
  CHECK(std::abs(loss.item() - cpu_loss.item()) < 1e-2 * std::abs(cpu_loss.item()) + 1e-2);
  CHECK(loglin_test::rel_err(logits.grad().to(Device::cpu()).to(DType::f32), cpu_logits.grad().to(DType::f32)) <
        2e-2);
}

TEST_CASE("cuda: an op without a bf16 path names the gpu, not the cpu", "[cuda][ops][bf16]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor x = Tensor::ones({2, 3}, DType::bf16).to(Device::cuda());
  LL_CHECK_ERROR(dropout(x, 0.5, true), "got bf16 on cuda:0");
}

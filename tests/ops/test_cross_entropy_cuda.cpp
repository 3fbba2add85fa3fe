// The fused cross_entropy on CUDA against the CPU path: the training-like
// [4096, 8192] shape with ignored targets (block rows), short rows (warp
// rows) with i32 targets, every target ignored, and the documented NaN for
// an out-of-range target (the device does not check, to avoid a host sync).
#include <cmath>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

// Targets in [0, C), every `every`-th row (from row 1) set to ignore_index.
Tensor make_targets(Generator& gen, int64_t rows, int64_t C, int64_t every, int64_t ignore_index, DType dtype) {
  Tensor t = randint(0, C, {rows}, DType::i64, gen);
  int64_t* p = t.data<int64_t>();
  if (every > 0)
    for (int64_t r = 1; r < rows; r += every) p[r] = ignore_index;
  return dtype == DType::i64 ? t : t.to(dtype);
}

struct Run {
  Tensor loss, dlogits;  // on the cpu
};

Run run_on(const Tensor& logits0, const Tensor& targets, int64_t ignore_index, double g, Device device) {
  Tensor logits = logits0.to(device).detach();
  logits.set_requires_grad(true);
  Tensor loss = cross_entropy(logits, targets.to(device), ignore_index);
  loss.backward(Tensor::full({}, g, loss.dtype(), device));
  return {loss.to(Device::cpu()), logits.grad().to(Device::cpu())};
}

void compare(const Tensor& logits, const Tensor& targets, int64_t ignore_index, DType dt) {
  const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
  Run cpu = run_on(logits, targets, ignore_index, 0.7, Device::cpu());
  Run gpu = run_on(logits, targets, ignore_index, 0.7, Device::cuda());
  CHECK(rel_err(gpu.loss, cpu.loss) <= tol);
  CHECK(rel_err(gpu.dlogits, cpu.dlogits) <= tol);
}

}  // namespace

TEST_CASE("cuda cross_entropy on 4096x8192 logits with ignored targets matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(31);
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(dtype_name(dt));
    Tensor logits = mul(randn({4096, 8192}, dt, gen), 3.0);
    Tensor targets = make_targets(gen, 4096, 8192, 7, -100, DType::i64);
    compare(logits, targets, -100, dt);
  }
}

TEST_CASE("cuda cross_entropy with short rows, 3-D logits and i32 targets matches the cpu", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(32);
  for (DType dt : {DType::f32, DType::f64}) {
    INFO(dtype_name(dt));
    for (int64_t C : {1, 2, 37, 1024, 1025}) {
      INFO("C = " << C);
      Tensor logits = randn({3001, C}, dt, gen);
      compare(logits, make_targets(gen, 3001, C, 5, -1, DType::i32), -1, dt);
    }
    // 3-D logits; ignore_index a valid class id.
    Tensor logits = randn({4, 257, 50}, dt, gen);
    Tensor targets = randint(0, 50, {4, 257}, DType::i64, gen);
    compare(logits, targets, 3, dt);
  }
}

TEST_CASE("cuda cross_entropy with every target ignored gives 0 and zero gradients", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(33);
  Tensor logits = randn({64, 300}, DType::f32, gen);
  Tensor targets = Tensor::full({64}, -100, DType::i64);
  compare(logits, targets, -100, DType::f32);
  Run gpu = run_on(logits, targets, -100, 1.0, Device::cuda());
  CHECK(gpu.loss.item() == 0.0);
  for (float v : gpu.dlogits.to_vector<float>()) REQUIRE(v == 0.0f);
}

TEST_CASE("cuda cross_entropy with an out-of-range target gives a NaN loss", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(34);
  Tensor logits = randn({16, 10}, DType::f32, gen).to(Device::cuda());
  Tensor targets = randint(0, 10, {16}, DType::i64, gen);
  targets.data<int64_t>()[5] = 10;
  Tensor loss = cross_entropy(logits, targets.to(Device::cuda()));
  CHECK(std::isnan(loss.item()));
}

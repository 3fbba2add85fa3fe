// embedding on CUDA against the CPU path at a training size (V = 8192,
// D = 768, 16384 ids with many repeats): the gather and the scatter-add of
// its gradient, with ids on the device or on the host, i32 or i64; and the
// out-of-range ids, found on the host at once or on the device by a later call.
#include <cmath>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Run {
  Tensor out;
  Tensor dweight;
};

Run run_on(const Tensor& weight, const Tensor& ids, const Tensor& gy, Device wdev, Device idev) {
  Tensor w = weight.to(wdev).detach();
  w.set_requires_grad(true);
  Tensor out = embedding(w, ids.to(idev));
  out.backward(gy.to(wdev));
  return {out.to(Device::cpu()), w.grad().to(Device::cpu())};
}

// Half the ids from a small range, so many rows are hit many times (the
// atomics contend), half from the whole vocab.
Tensor make_ids(int64_t n, int64_t vocab, DType dt, Generator& gen) {
  Tensor hot = randint(0, 64, {n / 2}, DType::i64, gen);
  Tensor any = randint(0, vocab, {n - n / 2}, DType::i64, gen);
  std::vector<int64_t> v = hot.to_vector<int64_t>(), rest = any.to_vector<int64_t>();
  v.insert(v.end(), rest.begin(), rest.end());
  Tensor ids = Tensor::from_vector<int64_t>(v, {4, n / 4});
  return ids.to(dt);
}

}  // namespace

TEST_CASE("cuda embedding matches the cpu, forward and weight gradient", "[cuda][ops][embedding]") {
  LOGLIN_REQUIRE_CUDA();
  const int64_t V = 8192, D = 768, N = 16384;
  uint64_t seed = 40;
  for (DType dt : {DType::f32, DType::f64})
    for (DType it : {DType::i64, DType::i32})
      for (bool ids_on_host : {false, true}) {
        INFO(dtype_name(dt) << " ids " << dtype_name(it) << (ids_on_host ? " on the host" : " on the device"));
        Generator gen(++seed);
        Tensor weight = randn({V, D}, dt, gen);
        Tensor ids = make_ids(N, V, it, gen);
        Tensor gy = randn({4, N / 4, D}, dt, gen);
        Run cpu = run_on(weight, ids, gy, Device::cpu(), Device::cpu());
        Run gpu = run_on(weight, ids, gy, Device::cuda(), ids_on_host ? Device::cpu() : Device::cuda());
        REQUIRE(gpu.out.shape() == Shape{4, N / 4, D});
        CHECK(rel_err(gpu.out, cpu.out) == 0);  // a gather copies exactly
        // Atomics add repeated rows in any order: rounding-level differences.
        CHECK(rel_err(gpu.dweight, cpu.dweight) <= (dt == DType::f64 ? 1e-12 : 1e-5));
      }
}

TEST_CASE("cuda embedding of small odd shapes", "[cuda][ops][embedding]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(50);
  for (int64_t D : {1, 3, 33, 1025}) {
    INFO("D = " << D);
    Tensor weight = randn({7, D}, DType::f64, gen);
    Tensor ids = Tensor::from_vector<int32_t>({6, 0, 6, 6, 2}, {5});
    Tensor gy = randn({5, D}, DType::f64, gen);
    Run cpu = run_on(weight, ids, gy, Device::cpu(), Device::cpu());
    Run gpu = run_on(weight, ids, gy, Device::cuda(), Device::cuda());
    CHECK(rel_err(gpu.out, cpu.out) == 0);
    CHECK(rel_err(gpu.dweight, cpu.dweight) <= 1e-14);
  }
}

TEST_CASE("cuda embedding reports out-of-range ids", "[cuda][ops][embedding]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(60);
  Tensor weight = randn({10, 4}, DType::f32, gen).to(Device::cuda());
  Tensor good = Tensor::from_vector<int64_t>({1, 2, 3}, {3});
  Tensor bad = Tensor::from_vector<int64_t>({1, 10, 3}, {3});

  // Ids from the host are checked there, before any kernel runs.
  LL_CHECK_ERROR(embedding(weight, bad), "out of range");

  // Ids on the device: the kernel records the bad id, and its row is NaN.
  Tensor out = embedding(weight, bad.to(Device::cuda())).to(Device::cpu());  // waits for the kernel
  std::vector<float> v = out.to_vector<float>();
  CHECK(std::isnan(v[4]));
  CHECK(!std::isnan(v[0]));
  // The next call raises it, once.
  const std::string msg = loglin_test::error_message([&] { embedding(weight, good.to(Device::cuda())); });
  INFO(msg);
  CHECK(loglin_test::contains(msg, "[embedding]"));
  CHECK(loglin_test::contains(msg, "id 10"));
  CHECK(embedding(weight, good.to(Device::cuda())).device().is_cuda());
  // ids on another device kind than the weight's cpu.
  LL_CHECK_ERROR(embedding(weight.to(Device::cpu()), good.to(Device::cuda())), "[embedding]");
}

// plan_buckets: reverse registration order, the MiB cap, a parameter over
// the cap alone, frozen parameters left out, dtype changes, errors.
#include <set>

#include "core/rng.h"
#include "distributed/buckets.h"
#include "test_util.h"

using namespace loglin;
using loglin::dist::plan_buckets;

namespace {
Tensor param(int64_t numel, DType dtype = DType::f32, bool trained = true) {
  Tensor t = Tensor::zeros({numel}, dtype);
  if (trained) t.set_requires_grad(true);
  return t;
}
constexpr double kKiB = 1.0 / 1024.0;  // in MiB
}  // namespace

TEST_CASE("bucket plan: reverse order, cap, and an oversize parameter alone", "[distributed]") {
  // f32 sizes in bytes: a 256, b 512, c 256, d 128, e 1200 (over the 1 KiB cap), f 64.
  std::vector<Tensor> ps = {param(64), param(128), param(64), param(32), param(300), param(16)};
  auto buckets = plan_buckets(ps, 1 * kKiB);
  REQUIRE(buckets.size() == 4);
  CHECK(buckets[0].params == std::vector<size_t>{5});        // f
  CHECK(buckets[1].params == std::vector<size_t>{4});        // e, over the cap, alone
  CHECK(buckets[2].params == std::vector<size_t>{3, 2, 1});  // d c b: 896 bytes; a would make 1152
  CHECK(buckets[3].params == std::vector<size_t>{0});        // a
  CHECK(buckets[2].offsets == std::vector<int64_t>{0, 32, 96});
  CHECK(buckets[2].numel == 224);
  CHECK(buckets[2].bytes() == 896);
  CHECK(buckets[1].bytes() == 1200);
  for (const auto& b : buckets) {
    CHECK(b.dtype == DType::f32);
    CHECK((b.bytes() <= 1024 || b.params.size() == 1));
  }
}

TEST_CASE("bucket plan: every trained parameter exactly once, buckets within the cap", "[distributed]") {
  Generator gen(7);
  std::vector<Tensor> ps;
  for (int i = 0; i < 40; ++i) ps.push_back(param(1 + gen.randint(0, 700)));
  for (double cap_kib : {0.5, 1.0, 2.0, 3.5, 100.0}) {
    auto buckets = plan_buckets(ps, cap_kib * kKiB);
    std::vector<size_t> order;
    for (const auto& b : buckets) {
      int64_t off = 0;
      for (size_t j = 0; j < b.params.size(); ++j) {
        CHECK(b.offsets[j] == off);
        off += ps[b.params[j]].numel();
        order.push_back(b.params[j]);
      }
      CHECK(b.numel == off);
      CHECK((b.bytes() <= cap_kib * 1024 || b.params.size() == 1));
    }
    // Reverse registration order, each once.
    std::vector<size_t> expect;
    for (size_t k = ps.size(); k-- > 0;) expect.push_back(k);
    CHECK(order == expect);
    // Greedy: a bucket and the first parameter of the next would not fit together.
    for (size_t b = 0; b + 1 < buckets.size(); ++b) {
      const int64_t next_bytes = ps[buckets[b + 1].params[0]].numel() * 4;
      CHECK(buckets[b].bytes() + next_bytes > cap_kib * 1024);
    }
  }
}

TEST_CASE("bucket plan: one bucket under the default 25 MiB cap", "[distributed]") {
  std::vector<Tensor> ps = {param(1000), param(2000), param(3000)};
  auto buckets = plan_buckets(ps);
  REQUIRE(buckets.size() == 1);
  CHECK(buckets[0].params == std::vector<size_t>{2, 1, 0});
  CHECK(buckets[0].numel == 6000);
  // 25 MiB of f32 is 6,553,600 elements: one more goes to a second bucket.
  std::vector<Tensor> big = {param(1), param(25 * 1024 * 1024 / 4)};
  CHECK(plan_buckets(big).size() == 1 + 1);
  std::vector<Tensor> fits = {param(25 * 1024 * 1024 / 4 - 1), param(1)};
  CHECK(plan_buckets(fits).size() == 1);
}

TEST_CASE("bucket plan: frozen parameters left out, a dtype change closes a bucket", "[distributed]") {
  std::vector<Tensor> ps = {param(8), param(8, DType::f32, false), param(8, DType::f64), param(8, DType::f64),
                            param(8)};
  auto buckets = plan_buckets(ps);
  REQUIRE(buckets.size() == 3);
  CHECK(buckets[0].params == std::vector<size_t>{4});
  CHECK(buckets[1].params == std::vector<size_t>{3, 2});
  CHECK(buckets[1].dtype == DType::f64);
  CHECK(buckets[1].bytes() == 128);
  CHECK(buckets[2].params == std::vector<size_t>{0});
  CHECK(plan_buckets({param(4, DType::f32, false)}).empty());
}

TEST_CASE("bucket plan: errors name the cap and the parameter", "[distributed]") {
  LL_CHECK_ERROR(plan_buckets({param(4)}, 0.0), "bucket_mb must be a positive");
  LL_CHECK_ERROR(plan_buckets({param(4)}, -1.0), "got -1");
  LL_CHECK_ERROR(plan_buckets({param(4), param(4, DType::bf16)}), "parameter 1 of shape [4] is bf16");
}

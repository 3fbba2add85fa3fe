// Seeded random numbers: reproducibility, distributions, ranges, state.
#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "core/rng.h"
#include "test_util.h"

using namespace loglin;

namespace {

void mean_std(const std::vector<double>& v, double& mean, double& std) {
  double s = 0, s2 = 0;
  for (double x : v) s += x;
  mean = s / static_cast<double>(v.size());
  for (double x : v) s2 += (x - mean) * (x - mean);
  std = std::sqrt(s2 / static_cast<double>(v.size()));
}

}  // namespace

TEST_CASE("a seed fixes the sequence, another seed changes it", "[core]") {
  Generator a(42), b(42), c(43);
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 100; ++i) {
    va.push_back(a.next_u64());
    vb.push_back(b.next_u64());
    vc.push_back(c.next_u64());
  }
  CHECK(va == vb);
  CHECK(va != vc);
  CHECK(std::set<uint64_t>(va.begin(), va.end()).size() == 100);

  Generator g1(7), g2(7), g3(8);
  CHECK(randn({50}, DType::f32, g1).to_vector<float>() == randn({50}, DType::f32, g2).to_vector<float>());
  CHECK(randn({50}, DType::f32, g1).to_vector<float>() != randn({50}, DType::f32, g3).to_vector<float>());

  // The default generator through manual_seed.
  manual_seed(123);
  std::vector<double> x = rand({20}, 0, 1, DType::f64).to_vector<double>();
  std::vector<int64_t> xi = randint(0, 1000, {20}).to_vector<int64_t>();
  manual_seed(123);
  CHECK(rand({20}, 0, 1, DType::f64).to_vector<double>() == x);
  CHECK(randint(0, 1000, {20}).to_vector<int64_t>() == xi);
}

TEST_CASE("a seed gives the same numbers in every dtype it fills", "[core]") {
  Generator g64(5), g32(5), g16(5);
  std::vector<double> d = randn({64}, DType::f64, g64).to_vector<double>();
  std::vector<float> f = randn({64}, DType::f32, g32).to_vector<float>();
  std::vector<float> h = randn({64}, DType::bf16, g16).to_vector<float>();
  for (size_t i = 0; i < d.size(); ++i) {
    CHECK(f[i] == static_cast<float>(d[i]));
    CHECK(h[i] == static_cast<float>(bf16(static_cast<float>(d[i]))));
  }
}

TEST_CASE("normal draws have mean 0 and std 1", "[core]") {
  Generator gen(2024);
  std::vector<double> v = randn({100000}, DType::f64, gen).to_vector<double>();
  double mean, std;
  mean_std(v, mean, std);
  LL_CHECK_NEAR(mean, 0.0, 0.02);  // standard error is 0.003
  LL_CHECK_NEAR(std, 1.0, 0.02);
  // Tails: about 4.55% of draws lie beyond 2 sigma.
  double beyond2 = static_cast<double>(std::count_if(v.begin(), v.end(), [](double x) { return std::abs(x) > 2; }));
  LL_CHECK_NEAR(beyond2 / 1e5, 0.0455, 0.005);
  CHECK(std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); }));

  Generator g(9);
  std::vector<double> direct;
  for (int i = 0; i < 100000; ++i) direct.push_back(g.normal());
  mean_std(direct, mean, std);
  LL_CHECK_NEAR(mean, 0.0, 0.02);
  LL_CHECK_NEAR(std, 1.0, 0.02);
}

TEST_CASE("uniform draws stay in low..high, high excluded", "[core]") {
  Generator gen(11);
  for (int i = 0; i < 100000; ++i) {
    double u = gen.uniform();
    if (!(u >= 0.0 && u < 1.0)) {
      FAIL_CHECK("uniform() gave " << u);
      break;
    }
  }
  for (DType t : {DType::f64, DType::f32, DType::bf16}) {
    INFO(dtype_name(t));
    Generator g(12);
    std::vector<double> v = rand({100000}, 0.0, 1.0, t, g).to_vector<double>();
    double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
    CHECK(lo >= 0.0);
    CHECK(hi < 1.0);
    CHECK(hi > 0.99);
    double mean, std;
    mean_std(v, mean, std);
    LL_CHECK_NEAR(mean, 0.5, 0.01);
    LL_CHECK_NEAR(std, std::sqrt(1.0 / 12), 0.01);

    Generator g2(13);
    std::vector<double> w = rand({100000}, -2.0, 3.0, t, g2).to_vector<double>();
    CHECK(*std::min_element(w.begin(), w.end()) >= -2.0);
    CHECK(*std::max_element(w.begin(), w.end()) < 3.0);
    mean_std(w, mean, std);
    LL_CHECK_NEAR(mean, 0.5, 0.05);
  }
  Generator g(1);
  CHECK(rand({10}, 4.0, 4.0, DType::f32, g).to_vector<float>() == std::vector<float>(10, 4.0f));
}

TEST_CASE("randint stays in low..high, high excluded, and hits every value", "[core]") {
  for (DType t : {DType::i64, DType::i32}) {
    INFO(dtype_name(t));
    Generator gen(77);
    Tensor r = randint(-3, 7, {10000}, t, gen);
    CHECK(r.dtype() == t);
    std::vector<int64_t> v = r.to_vector<int64_t>();
    std::vector<int> counts(10, 0);
    bool in_range = true;
    for (int64_t x : v) {
      if (x < -3 || x >= 7) {
        in_range = false;
        continue;
      }
      counts[x + 3]++;
    }
    CHECK(in_range);
    for (int c : counts) {
      CHECK(c > 800);  // 1000 expected each
      CHECK(c < 1200);
    }
  }
  Generator g(3);
  for (int i = 0; i < 1000; ++i) {
    int64_t x = g.randint(5, 6);
    if (x != 5) {
      FAIL_CHECK("randint(5, 6) gave " << x);
      break;
    }
  }
}

TEST_CASE("randint is exact over ranges wider than a double's mantissa", "[core]") {
  const int64_t high = int64_t{1} << 62;
  Generator a(21), b(21);
  std::vector<int64_t> t = randint(0, high, {200}, DType::i64, a).to_vector<int64_t>();
  std::vector<int64_t> direct;
  for (int i = 0; i < 200; ++i) direct.push_back(b.randint(0, high));
  const bool same = t == direct;  // (not CHECK(t == direct): 200 numbers would flood the log)
  CHECK(same);
  // Half the draws are odd; a trip through double would make every one even.
  CHECK(std::count_if(t.begin(), t.end(), [](int64_t x) { return x % 2 != 0; }) > 50);
}

TEST_CASE("randint covers the whole int64 range without overflow", "[core]") {
  Generator g(31);
  int negative = 0, positive = 0;
  for (int i = 0; i < 1000; ++i) {
    int64_t x = g.randint(INT64_MIN, INT64_MAX);
    CHECK(x != INT64_MAX);
    (x < 0 ? negative : positive)++;
  }
  CHECK(negative > 400);
  CHECK(positive > 400);
  Generator h(32);
  std::vector<int64_t> v = randint(INT64_MIN, INT64_MIN + 3, {300}, DType::i64, h).to_vector<int64_t>();
  CHECK(*std::min_element(v.begin(), v.end()) == INT64_MIN);
  CHECK(*std::max_element(v.begin(), v.end()) == INT64_MIN + 2);
  // i32 holds its own extremes.
  std::vector<int64_t> w = randint(INT32_MIN, int64_t{INT32_MAX} + 1, {2000}, DType::i32, h).to_vector<int64_t>();
  CHECK(*std::min_element(w.begin(), w.end()) < -1000000);
  CHECK(*std::max_element(w.begin(), w.end()) > 1000000);
}

TEST_CASE("random creation rejects bad ranges and dtypes", "[core]") {
  Generator g(0);
  LL_CHECK_ERROR(randint(5, 5, {3}, DType::i64, g), "[randint]");
  LL_CHECK_ERROR(randint(0, 10, {3}, DType::f32, g), "[randint]");
  LL_CHECK_ERROR(g.randint(3, 1), "[randint]");
  // A range that i32 cannot hold.
  LL_CHECK_ERROR(randint(0, int64_t{1} << 40, {3}, DType::i32, g), "[randint]");
  LL_CHECK_ERROR(randn({3}, DType::i64, g), "[randn]");
  LL_CHECK_ERROR(rand({3}, 1.0, 0.0, DType::f32, g), "[rand]");
  LL_CHECK_ERROR(rand({3}, 0.0, 1.0, DType::i32, g), "[rand]");
}

TEST_CASE("Generator state save and restore continues the same sequence", "[core]") {
  Generator g(99);
  for (int i = 0; i < 7; ++i) g.normal();  // odd count: a spare normal is pending
  Generator::State st = g.state();
  std::vector<double> first;
  for (int i = 0; i < 5; ++i) first.push_back(g.normal());
  first.push_back(g.uniform());
  first.push_back(static_cast<double>(g.randint(0, 1000)));
  std::vector<float> t1 = randn({9}, DType::f32, g).to_vector<float>();

  g.set_state(st);
  std::vector<double> again;
  for (int i = 0; i < 5; ++i) again.push_back(g.normal());
  again.push_back(g.uniform());
  again.push_back(static_cast<double>(g.randint(0, 1000)));
  CHECK(again == first);
  CHECK(randn({9}, DType::f32, g).to_vector<float>() == t1);

  // Into another generator.
  Generator h(12345);
  h.set_state(st);
  std::vector<double> other;
  for (int i = 0; i < 5; ++i) other.push_back(h.normal());
  CHECK(std::vector<double>(first.begin(), first.begin() + 5) == other);
}

TEST_CASE("manual_seed resets a pending spare normal", "[core]") {
  Generator g(4);
  g.normal();  // leaves a spare behind
  g.manual_seed(4);
  Generator fresh(4);
  CHECK(g.normal() == fresh.normal());
  CHECK(g.normal() == fresh.normal());
  CHECK(g.next_u64() == fresh.next_u64());
}

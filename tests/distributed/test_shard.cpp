// BatchShard: the ranks' rows are disjoint, cover the global batch, and
// follow the seeded batch stream deterministically.
#include "core/rng.h"
#include "distributed/shard.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin::dist::BatchShard;

TEST_CASE("batch shard: rows are disjoint and cover the global batch", "[distributed]") {
  for (int64_t B : {1, 4, 6, 12, 24}) {
    for (int n = 1; n <= 4; ++n) {
      if (B % n != 0) continue;
      INFO("B " << B << ", world " << n);
      std::vector<int> owner(static_cast<size_t>(B), -1);
      for (int r = 0; r < n; ++r) {
        BatchShard s(r, n);
        CHECK(s.rows(B) == B / n);
        for (int64_t i = s.begin(B); i < s.begin(B) + s.rows(B); ++i) {
          CHECK(owner[i] == -1);  // no row twice
          owner[i] = r;
        }
      }
      for (int64_t i = 0; i < B; ++i) CHECK(owner[i] == i / (B / n));  // every row, contiguous slices in rank order
    }
  }
}

TEST_CASE("batch shard: slices of a seeded batch stream are deterministic and rejoin to it", "[distributed]") {
  const int n = 3;
  const int64_t B = 6, T = 5;
  // Three global batches of token ids, drawn as a dataset draws them: from one seeded generator.
  auto stream = [&](uint64_t seed) {
    Generator gen(seed);
    std::vector<Tensor> batches;
    for (int k = 0; k < 3; ++k) batches.push_back(randint(0, 1000, {B, T}, DType::i64, gen));
    return batches;
  };
  auto per_rank = [&](uint64_t seed) {
    std::vector<std::vector<std::vector<int64_t>>> out(n);  // rank -> batch -> values
    for (int r = 0; r < n; ++r)
      for (const Tensor& b : stream(seed)) out[r].push_back(BatchShard(r, n).slice(b).to_vector<int64_t>());
    return out;
  };
  auto a = per_rank(42), again = per_rank(42), other = per_rank(43);
  CHECK(a == again);
  CHECK(a != other);
  std::vector<Tensor> global = stream(42);
  for (size_t k = 0; k < global.size(); ++k) {
    std::vector<int64_t> joined;
    for (int r = 0; r < n; ++r) {
      CHECK(a[r][k].size() == static_cast<size_t>(B / n * T));
      joined.insert(joined.end(), a[r][k].begin(), a[r][k].end());
    }
    CHECK(joined == global[k].to_vector<int64_t>());
  }
  // A slice is a view of the global batch, not a copy.
  Tensor g = global[0];
  CHECK(BatchShard(2, n).slice(g).shares_storage_with(g));
  CHECK(BatchShard(2, n).slice(g).shape() == Shape{2, T});
}

TEST_CASE("batch shard: uneven splits and bad ranks are clear errors", "[distributed]") {
  LL_CHECK_ERROR(BatchShard(0, 4).rows(10), "a batch of 10 rows cannot be split evenly over 4 ranks");
  LL_CHECK_ERROR(BatchShard(0, 4).slice(Tensor::zeros({6, 3})), "6 rows cannot be split evenly over 4");
  LL_CHECK_ERROR(BatchShard(4, 4), "rank 4 outside 0..3");
  LL_CHECK_ERROR(BatchShard(0, 0), "world size 0");
  LL_CHECK_ERROR(BatchShard(0, 2).slice(Tensor::scalar(1.0)), "leading batch dimension");
}

// plan_param_owners: every parameter gets one owner, the ranks' loads are
// balanced greedily by size, the plan is deterministic, and a world larger
// than the parameter count leaves ranks with nothing.
#include <algorithm>
#include <vector>

#include "distributed/param_owners.h"
#include "test_util.h"

using namespace loglin;

namespace {

std::vector<Tensor> of_sizes(const std::vector<int64_t>& sizes) {
  std::vector<Tensor> out;
  for (int64_t n : sizes) out.push_back(Tensor::zeros({n}));
  return out;
}

}  // namespace

TEST_CASE("param owners: greedy by size onto the least-loaded rank", "[distributed]") {
  CHECK(dist::plan_param_owners(of_sizes({100, 60, 50, 10}), 2) == std::vector<int>{0, 1, 1, 0});
  // Ties in size keep registration order; ties in load go to the lowest rank.
  CHECK(dist::plan_param_owners(of_sizes({8, 8, 8, 8, 8, 8}), 3) == std::vector<int>{0, 1, 2, 0, 1, 2});
  CHECK(dist::plan_param_owners(of_sizes({5, 7, 3}), 1) == std::vector<int>{0, 0, 0});
  CHECK(dist::plan_param_owners(of_sizes({5, 7}), 4) == std::vector<int>{1, 0});  // ranks 2 and 3 own nothing
  CHECK(dist::plan_param_owners({}, 2).empty());
}

TEST_CASE("param owners: loads stay within one parameter of each other", "[distributed]") {
  std::vector<int64_t> sizes;
  for (int i = 0; i < 40; ++i) sizes.push_back(1 + (i * 37) % 101);
  for (int world : {2, 3, 5, 8}) {
    INFO("world " << world);
    const auto owners = dist::plan_param_owners(of_sizes(sizes), world);
    REQUIRE(owners.size() == sizes.size());
    std::vector<int64_t> load(world, 0);
    for (size_t i = 0; i < sizes.size(); ++i) {
      REQUIRE(owners[i] >= 0);
      REQUIRE(owners[i] < world);
      load[owners[i]] += sizes[i];
    }
    const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
    CHECK(*hi - *lo <= 101);  // greedy LPT: never more than the largest parameter apart
    CHECK(dist::plan_param_owners(of_sizes(sizes), world) == owners);
  }
}

TEST_CASE("param owners: bad input is named", "[distributed]") {
  LL_CHECK_ERROR(dist::plan_param_owners(of_sizes({3}), 0), "world size 0");
  LL_CHECK_ERROR(dist::plan_param_owners({Tensor::zeros({2}), Tensor()}, 2), "parameter 1 is an undefined tensor");
}

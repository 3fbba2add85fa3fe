#include "distributed/param_owners.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace loglin::dist {

std::vector<int> plan_param_owners(const std::vector<Tensor>& params, int world_size) {
  LOGLIN_CHECK(world_size >= 1, "[dist] param owners: world size {} (need at least 1 rank)", world_size);
  std::vector<size_t> order(params.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = 0; i < params.size(); ++i)
    LOGLIN_CHECK(params[i].defined(), "[dist] param owners: parameter {} is an undefined tensor", i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return params[a].numel() > params[b].numel(); });
  std::vector<int64_t> load(static_cast<size_t>(world_size), 0);
  std::vector<int> owners(params.size(), 0);
  for (size_t i : order) {
    const int r = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owners[i] = r;
    load[static_cast<size_t>(r)] += params[i].numel();
  }
  return owners;
}

}  // namespace loglin::dist

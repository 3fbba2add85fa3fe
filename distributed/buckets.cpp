#include "distributed/buckets.h"

#include <cmath>

#include "core/error.h"

namespace loglin::dist {

std::vector<GradBucket> plan_buckets(const std::vector<Tensor>& params, double bucket_mb) {
  LOGLIN_CHECK(std::isfinite(bucket_mb) && bucket_mb > 0, "[dist] bucket_mb must be a positive number of MiB (got {})",
               bucket_mb);
  const double cap_bytes = bucket_mb * 1024.0 * 1024.0;
  std::vector<GradBucket> buckets;
  GradBucket cur;
  auto close = [&] {
    if (!cur.params.empty()) buckets.push_back(std::move(cur));
    cur = GradBucket{};
  };
  for (size_t k = params.size(); k-- > 0;) {
    const Tensor& p = params[k];
    LOGLIN_CHECK(p.defined(), "[dist] bucket plan: parameter {} is an undefined tensor", k);
    if (!p.requires_grad()) continue;
    LOGLIN_CHECK(p.dtype() == DType::f32 || p.dtype() == DType::f64,
                 "[dist] bucket plan: parameter {} of shape {} is {}; data-parallel gradients are f32 or f64 (keep "
                 "master weights in f32)",
                 k, shape_str(p.shape()), dtype_name(p.dtype()));
    const double p_bytes = static_cast<double>(p.numel()) * static_cast<double>(dtype_size(p.dtype()));
    if (!cur.params.empty() &&
        (p.dtype() != cur.dtype || static_cast<double>(cur.bytes()) + p_bytes > cap_bytes))
      close();
    if (cur.params.empty()) cur.dtype = p.dtype();
    cur.params.push_back(k);
    cur.offsets.push_back(cur.numel);
    cur.numel += p.numel();
  }
  close();
  return buckets;
}

}  // namespace loglin::dist

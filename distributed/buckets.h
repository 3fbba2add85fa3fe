// Gradient buckets: which parameters' gradients travel together in one
// all-reduce. Pure planning, no memory and no communication (GradReducer in
// distributed/grad_reducer.h does those).
//
// The parameters are taken in reverse registration order, which roughly is
// the order in which backward finishes their gradients (the last layer
// first), and cut greedily into buckets of at most `bucket_mb` MiB: a bucket
// is closed when the next parameter would take it over the cap, or when the
// dtype changes. A parameter bigger than the cap gets a bucket of its own.
//
//   params (registration order):  a(4 MiB) b(30 MiB) c(10 MiB) d(10 MiB), cap 25 MiB
//   buckets:                      {d, c}  {b}  {a}
//
// Every rank plans from the same model, so every rank gets the same buckets.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace loglin::dist {

inline constexpr double kDefaultBucketMb = 25.0;

struct GradBucket {
  std::vector<size_t> params;    // indices into the list given to plan_buckets, in bucket order
  std::vector<int64_t> offsets;  // where each starts in the bucket's flat buffer, in elements
  int64_t numel = 0;             // elements of the flat buffer
  DType dtype = DType::f32;
  int64_t bytes() const { return numel * static_cast<int64_t>(dtype_size(dtype)); }
};

// params: as parameters() gives them (registration order). Tensors without
// requires_grad are left out of every bucket. Errors name the parameter's
// index when it is not f32/f64, and a cap that is not positive.
std::vector<GradBucket> plan_buckets(const std::vector<Tensor>& params, double bucket_mb = kDefaultBucketMb);

}  // namespace loglin::dist

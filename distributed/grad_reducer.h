// GradReducer: averages the gradients of a model's replicas over the ranks
// of a Communicator, one bucket (distributed/buckets.h) per all-reduce.
//
//   dist::GradReducer reducer(comm, model.named_parameters());  // same on every rank
//   auto hooks = reducer.install_ready_hooks();  // optional: launch buckets during backward
//   loss.backward();
//   reducer.finish();          // now every rank holds the averaged gradients
//   opt.step(lr);
//
// With gradient accumulation, the micro-steps before the last do not talk:
//
//   for (int a = 0; a < accum; ++a) {
//     std::optional<dist::GradReducer::NoSync> quiet;
//     if (a + 1 < accum) quiet.emplace(reducer);   // or: auto quiet = reducer.no_sync();
//     mul(loss_a, 1.0 / accum).backward();
//     reducer.finish();        // communicates only on the last micro-step
//   }
//
// A trainer that knows when each gradient is final calls mark_ready(param)
// for it, from the autograd engine's grad-ready hook
// (autograd/grad_ready_hook.h; install_ready_hooks() below does it): a
// bucket is launched as soon as all its gradients are ready, so
// communication overlaps the rest of the backward. Buckets are launched strictly in bucket order (a ready
// bucket waits for the ones before it), so every rank issues the same
// collectives in the same order whatever order its gradients arrive in.
// finish() launches what is left (a parameter never marked counts as ready;
// one with no gradient at all counts as zeros), waits for every bucket and
// copies the reduced values back into the parameters' gradients.
//
// A launch is Communicator::all_reduce_async; finish() calls wait_all()
// before it reads the buffers back. With the in-process communicator a
// launch is synchronous; with NCCL it is an all-reduce on a side stream that
// waits for the packing copies on the device's stream, and finish() makes the
// device's stream wait for it (no host synchronisation).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "autograd/grad_ready_hook.h"
#include "core/tensor.h"
#include "distributed/buckets.h"
#include "distributed/communicator.h"

namespace loglin::dist {

struct GradReducerOptions {
  double bucket_mb = kDefaultBucketMb;  // cap on one bucket's size, MiB
  ReduceOp op = ReduceOp::average;      // average: the gradient of the mean loss over all ranks' shards
};

class GradReducer {
 public:
  // named_params: as named_parameters() gives them (registration order);
  // every rank passes the same list. The flat buffers live on the
  // parameters' device.
  GradReducer(Communicator& comm, std::vector<std::pair<std::string, Tensor>> named_params,
              GradReducerOptions options = {});

  // This parameter's gradient for the current step is final.
  void mark_ready(const Tensor& param);
  void mark_ready(size_t index);  // by position in named_params
  // A grad-ready hook on every parameter that requires grad, calling
  // mark_ready for it from inside backward. The hooks point at this reducer:
  // destroy the handles before it (and do not move it while they live).
  [[nodiscard]] std::vector<autograd::GradReadyHook> install_ready_hooks();
  // Ends the step: see above. Inside a no_sync() scope it only resets.
  void finish();

  // While alive, mark_ready() and finish() do not communicate: gradients keep
  // accumulating locally (the non-final micro-steps of gradient accumulation).
  class NoSync {
   public:
    explicit NoSync(GradReducer& r) : r_(r), prev_(r.sync_) { r.sync_ = false; }
    ~NoSync() { r_.sync_ = prev_; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    GradReducer& r_;
    bool prev_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }
  bool sync_enabled() const { return sync_; }

  const std::vector<GradBucket>& buckets() const { return buckets_; }
  const std::string& param_name(size_t index) const { return params_.at(index).first; }
  int64_t buckets_launched() const { return launched_total_; }  // over the reducer's life

 private:
  void launch_ready_buckets();
  void launch(size_t b);
  void unpack(size_t b);
  void reset_step();

  Communicator& comm_;
  GradReducerOptions options_;
  std::vector<std::pair<std::string, Tensor>> params_;
  std::unordered_map<const TensorImpl*, size_t> index_of_;
  std::vector<GradBucket> buckets_;
  std::vector<Tensor> flat_;             // one buffer per bucket
  std::vector<int> bucket_of_;           // per parameter; -1 when not trained
  std::vector<bool> ready_;              // per parameter, this step
  std::vector<int64_t> pending_;         // per bucket: gradients not yet ready
  std::vector<bool> launched_;           // per bucket, this step
  size_t next_launch_ = 0;
  bool sync_ = true;
  int64_t launched_total_ = 0;
};

}  // namespace loglin::dist

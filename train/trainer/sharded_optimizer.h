// ZeRO stage 1 for the data-parallel trainer (config: distributed.zero1):
// the optimizer state is split over the ranks instead of copied on each.
// Each rank owns whole parameters (dist::plan_param_owners), keeps the
// optimizer state (AdamW's two moments, SGD's momentum) of those only and
// updates only those; then every parameter is broadcast from its owner, so
// all replicas hold the same weights again. The gradients are averaged on
// every rank as before (stage 1 leaves gradients and weights whole), so the
// update is the same arithmetic on the same numbers as without sharding: the
// parameters come out bit-identical to plain data parallelism.
//
//   auto opt = std::make_unique<ShardedOptimizer>(comm, groups, [&](auto owned) {
//     return std::make_unique<optim::AdamW>(std::move(owned), adamw_options);
//   });
//
// Checkpoints: state_dict() gathers the whole state (each owner broadcasts
// its entries), so rank 0 writes the same optimizer file as an unsharded run
// and a checkpoint resumes on any number of ranks, sharded or not;
// load_state_dict() keeps the entries this rank owns. state_dict() is a
// collective: every rank calls it, at the same point.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "distributed/communicator.h"
#include "train/optim/optimizer.h"

namespace loglin {

class ShardedOptimizer : public optim::Optimizer {
 public:
  using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::ParamGroup> owned)>;

  // groups: every parameter (the same on every rank); make_inner builds the
  // real optimizer over this rank's share of them (the groups' weight decays kept).
  ShardedOptimizer(dist::Communicator& comm, std::vector<optim::ParamGroup> groups, const Factory& make_inner);

  void step(double lr) override;  // the owned update, then a broadcast from each owner
  std::map<std::string, Tensor> state_dict() const override;  // collective: the whole state on every rank
  void load_state_dict(const std::map<std::string, Tensor>& state) override;
  std::vector<std::string> state_slots() const override { return inner_->state_slots(); }

  int64_t owned_params() const { return owned_count_; }
  int64_t owned_elements() const { return owned_elements_; }

 private:
  dist::Communicator& comm_;
  std::unique_ptr<optim::Optimizer> inner_;
  std::vector<std::vector<Tensor>> by_owner_;       // parameters per owning rank, in registration order
  std::vector<std::vector<std::string>> names_of_;  // their names
  int64_t owned_count_ = 0, owned_elements_ = 0;
};

}  // namespace loglin

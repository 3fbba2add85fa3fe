// InProcessCommunicator: N ranks simulated as N threads of one process that
// share memory. For tests only: it runs the data-parallel logic (bucketing,
// sharding, accumulation) without GPUs, and it is deterministic: a reduction
// adds the ranks' values in rank order 0, 1, ..., N-1 in the tensors' dtype,
// so every rank gets bit-identical results and a rerun gives the same bits.
//
//   dist::run_in_process(4, [&](dist::Communicator& comm) {
//     Tensor g = ...;                          // this rank's gradient
//     comm.all_reduce(g, dist::ReduceOp::average);
//   });
//
// Tensors must be on the CPU. Each rank passes its own tensors (no two ranks
// sharing storage). A collective that is wrong on any rank (a bad dtype,
// counts or sizes that differ between ranks) throws the same error on every
// rank instead of hanging; a rank whose function throws outside a collective
// makes the other ranks' collectives throw too, so run_in_process always ends.
#pragma once
#include <atomic>
#include <barrier>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "distributed/communicator.h"

namespace loglin::dist {

// The state the ranks of one simulated group share.
class InProcessGroup {
 public:
  explicit InProcessGroup(int world_size);
  int world_size() const { return world_size_; }

  // Rank `rank` takes no further part (it returned, or failed with `why`):
  // a collective that still needs it throws on the other ranks instead of
  // waiting for ever.
  void leave(int rank, const std::string& why);

 private:
  friend class InProcessCommunicator;
  struct Slot {
    const std::vector<Tensor>* tensors = nullptr;
    std::string error;  // this rank's own complaint about its arguments
    int root = 0;
  };
  // Waits until every rank arrived; throws if a rank left before this point.
  void sync(int rank);

  int world_size_;
  std::barrier<> barrier_;
  std::vector<Slot> slots_;
  std::vector<int64_t> syncs_;                   // per rank, touched only by its thread
  std::vector<std::atomic<int64_t>> left_after_;  // syncs a rank took part in before leaving
  std::mutex mu_;
  std::vector<std::string> left_why_;  // guarded by mu_
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<InProcessGroup> group, int rank);

  int rank() const override { return rank_; }
  int world_size() const override { return group_->world_size(); }
  std::string backend() const override { return "in_process"; }
  void all_reduce(const std::vector<Tensor>& tensors, ReduceOp op) override;
  using Communicator::all_reduce;
  void broadcast(const std::vector<Tensor>& tensors, int root = 0) override;
  void barrier() override;
  CommStats stats() const override { return stats_; }

 private:
  // After every rank deposited its slot: the first problem of any rank, or a
  // mismatch of counts/sizes/dtypes against rank 0 (the same text on every rank).
  std::string group_problem(const char* op) const;

  std::shared_ptr<InProcessGroup> group_;
  int rank_;
  CommStats stats_;
};

// Runs fn(comm) for ranks 0..world_size-1, each on its own thread with its
// own communicator of one fresh group, and waits for all. If any rank threw,
// rethrows the exception of the lowest such rank.
void run_in_process(int world_size, const std::function<void(Communicator&)>& fn);

}  // namespace loglin::dist

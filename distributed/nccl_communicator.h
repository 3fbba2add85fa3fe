// NcclCommunicator: the Communicator of real multi-GPU runs, one process (or
// thread) per GPU, collectives through NCCL on loglin's stream of that GPU.
//
//   auto comm = dist::NcclCommunicator::create(rank, world, device,
//                                              dist::FileRendezvous(run_dir));
//   comm->broadcast(model.parameters());
//
// Rendezvous: rank 0 makes NCCL's unique id and writes it to
// `<dir>/nccl_unique_id` (temp file + rename, so no rank reads half of it);
// the others wait for the file (timeout_s, then a clear error); rank 0
// removes it when the group has formed. `dir` must be
// shared by all ranks (one machine: the run directory). rank_from_env()
// (distributed/launch_rank.h) reads the rank a launcher gave the process.
//
// Tensors: contiguous f32 or f64 on this rank's GPU. Every collective runs
// on a side stream of the communicator's own, in the order issued, after an
// event on the device's stream (loglin's one stream: the kernels that wrote
// the tensors) has passed. all_reduce_async returns there; wait_all() makes
// the device's stream wait for the side stream, so whatever loglin queues
// next sees the results and the caching allocator reuses no block the
// collective still uses. The synchronous all_reduce and broadcast are the
// same followed by wait_all(); none of them waits on the host (barrier()
// does). all_reduce of a list is one NCCL group.
// Builds without NCCL (or without CUDA) compile this file too: nccl_available()
// is false and create() fails with a clear error.
#pragma once
#include <memory>
#include <string>

#include "distributed/communicator.h"
#include "distributed/launch_rank.h"  // rank_from_env(): where a launched process finds its rank

namespace loglin::dist {

// Whether this build has NCCL (LOGLIN_WITH_NCCL).
bool nccl_available();

struct FileRendezvous {
  std::string dir;        // shared by every rank
  double timeout_s = 120; // how long a rank waits for rank 0's id
};

// Creates rdv.dir and removes a previous run's id from it. A launcher calls
// it before it starts the ranks: a rank that read a stale id would wait for a
// group that never forms. (Rank 0 also removes the id once every rank has
// joined, so a run that ended normally leaves none behind.)
void clear_rendezvous(const FileRendezvous& rdv);

class NcclCommunicator : public Communicator {
 public:
  // Joins the group: rank in [0, world_size), device: this rank's GPU.
  static std::unique_ptr<NcclCommunicator> create(int rank, int world_size, int device, const FileRendezvous& rdv);
  ~NcclCommunicator() override;

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string backend() const override { return "nccl"; }
  int device() const { return device_; }

  void all_reduce(const std::vector<Tensor>& tensors, ReduceOp op) override;
  using Communicator::all_reduce;
  void all_reduce_async(const std::vector<Tensor>& tensors, ReduceOp op) override;
  using Communicator::all_reduce_async;
  void wait_all() override;
  void broadcast(const std::vector<Tensor>& tensors, int root = 0) override;
  void barrier() override;
  CommStats stats() const override { return stats_; }

  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

 private:
  NcclCommunicator(int rank, int world_size, int device, void* comm);
  void check_tensors(const char* op, const std::vector<Tensor>& tensors) const;
  // The side stream waits for everything queued so far on the device's stream.
  void side_after_compute();

  int rank_, world_, device_;
  void* comm_;                     // ncclComm_t
  void* side_ = nullptr;           // cudaStream_t: where the collectives run
  void* compute_done_ = nullptr;   // cudaEvent_t, recorded on the device's stream
  void* side_done_ = nullptr;      // cudaEvent_t, recorded on the side stream
  bool pending_ = false;           // collectives on the side stream not yet waited for
  CommStats stats_;
};

}  // namespace loglin::dist

// Communicator: what data-parallel training needs from a group of ranks
// (one process or thread per device), and nothing more.
//
//   comm.broadcast(model.parameters());           // every replica starts from rank 0's weights
//   ... forward/backward on this rank's shard ...
//   comm.all_reduce({flat_grads}, ReduceOp::average);
//
// Or, to overlap communication with compute (GradReducer does this):
//
//   comm.all_reduce_async(bucket, ReduceOp::average);   // during backward
//   ...
//   comm.wait_all();                                    // before reading bucket
//
// Every collective is called by every rank, in the same order, with tensors
// of the same count, shapes and dtypes; it works in place. Tensors are
// contiguous f32 or f64 on this rank's device.
//
// The seam: InProcessCommunicator (distributed/in_process_communicator.h) is
// the implementation for tests, N ranks as N threads. The NCCL implementation
// (issue 6/6, distributed/nccl_communicator.{h,cpp}, CUDA builds only) derives
// from this class; nothing above this header needs to know which one runs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace loglin::dist {

enum class ReduceOp {
  sum,      // x = x_0 + x_1 + ... + x_{N-1}
  average,  // the sum divided by the world size
};
const char* reduce_op_name(ReduceOp op);

// How much a communicator did (a rank's own view); tests count calls with it.
struct CommStats {
  int64_t all_reduce_calls = 0;
  int64_t broadcast_calls = 0;
  int64_t barrier_calls = 0;
  int64_t all_reduce_bytes = 0;  // sum of the tensors' sizes over all_reduce calls
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;        // 0 .. world_size() - 1
  virtual int world_size() const = 0;  // >= 1
  virtual std::string backend() const = 0;  // "in_process", later "nccl"

  // In place: every tensor becomes the sum (or average) of that tensor over
  // all ranks. A list is reduced as one collective (one call in stats()).
  virtual void all_reduce(const std::vector<Tensor>& tensors, ReduceOp op) = 0;
  // One flat buffer.
  void all_reduce(const Tensor& flat, ReduceOp op) { all_reduce(std::vector<Tensor>{flat}, op); }

  // An all-reduce that may still be running when this returns, so it can
  // overlap the rest of the backward. The tensors must stay alive, and must
  // not be read or written, until wait_all(). It counts as an all_reduce in
  // stats() and takes its place in the order of collectives as issued.
  // Default (the in-process communicator): the synchronous all_reduce.
  // NCCL: queued on a side stream after the work already queued on the
  // device's stream.
  virtual void all_reduce_async(const std::vector<Tensor>& tensors, ReduceOp op) { all_reduce(tensors, op); }
  void all_reduce_async(const Tensor& flat, ReduceOp op) { all_reduce_async(std::vector<Tensor>{flat}, op); }
  // Every asynchronous all-reduce issued so far is complete for whatever this
  // rank does next. NCCL: the device's stream waits for the side stream (the
  // host does not wait). Default: nothing to wait for.
  virtual void wait_all() {}
  // In place: every rank's tensors take the values of rank `root`'s.
  virtual void broadcast(const std::vector<Tensor>& tensors, int root = 0) = 0;
  // Returns when every rank has called it.
  virtual void barrier() = 0;

  virtual CommStats stats() const = 0;
};

// Checks one rank's tensors before a collective: defined, contiguous, f32 or
// f64. Returns "" when they are fine, else the problem ("[dist] all_reduce:
// tensor 2 is bf16; ..."), so an implementation can tell every rank.
std::string check_collective_tensors(const char* op, const std::vector<Tensor>& tensors);

}  // namespace loglin::dist

#include "distributed/in_process_communicator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <thread>

#include "core/error.h"

namespace loglin::dist {

InProcessGroup::InProcessGroup(int world_size)
    : world_size_(world_size),
      barrier_(std::max(world_size, 1)),
      slots_(std::max(world_size, 0)),
      syncs_(std::max(world_size, 0), 0),
      left_after_(std::max(world_size, 0)),
      left_why_(std::max(world_size, 0)) {
  LOGLIN_CHECK(world_size >= 1, "[dist] in-process group: world size {} (need at least 1 rank)", world_size);
  for (auto& l : left_after_) l.store(std::numeric_limits<int64_t>::max());
}

void InProcessGroup::leave(int rank, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    left_why_[rank] = why;
  }
  left_after_[rank].store(syncs_[rank]);
  barrier_.arrive_and_drop();
}

void InProcessGroup::sync(int rank) {
  const int64_t k = ++syncs_[rank];
  barrier_.arrive_and_wait();
  for (int r = 0; r < world_size_; ++r) {
    if (left_after_[r].load() < k) {
      std::lock_guard<std::mutex> lock(mu_);
      LOGLIN_FAIL("[dist] rank {}: a collective cannot complete because rank {} {}", rank, r, left_why_[r]);
    }
  }
}

InProcessCommunicator::InProcessCommunicator(std::shared_ptr<InProcessGroup> group, int rank)
    : group_(std::move(group)), rank_(rank) {
  LOGLIN_CHECK(group_ != nullptr, "[dist] in-process communicator: no group");
  LOGLIN_CHECK(rank >= 0 && rank < group_->world_size(), "[dist] in-process communicator: rank {} outside 0..{}",
               rank, group_->world_size() - 1);
}

namespace {

std::string local_problem(const char* op, const std::vector<Tensor>& tensors) {
  std::string e = check_collective_tensors(op, tensors);
  if (!e.empty()) return e;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!tensors[i].device().is_cpu())
      return fmt::format("[dist] {}: tensor {} is on {}; the in-process communicator works on cpu tensors", op, i,
                         tensors[i].device().str());
  return "";
}

template <class T>
void reduce_into(std::vector<T>& out, const std::vector<const T*>& ins, int64_t n, ReduceOp op, int world) {
  out.resize(static_cast<size_t>(n));
  const T* first = ins[0];
  for (int64_t j = 0; j < n; ++j) out[j] = first[j];
  for (size_t r = 1; r < ins.size(); ++r) {
    const T* in = ins[r];
    for (int64_t j = 0; j < n; ++j) out[j] += in[j];
  }
  if (op == ReduceOp::average) {
    const T w = static_cast<T>(world);
    for (int64_t j = 0; j < n; ++j) out[j] /= w;
  }
}

}  // namespace

std::string InProcessCommunicator::group_problem(const char* op) const {
  const auto& slots = group_->slots_;
  for (size_t r = 0; r < slots.size(); ++r)
    if (!slots[r].error.empty()) return fmt::format("{} (on rank {})", slots[r].error, r);
  const std::vector<Tensor>& ref = *slots[0].tensors;
  for (size_t r = 1; r < slots.size(); ++r) {
    const std::vector<Tensor>& mine = *slots[r].tensors;
    if (mine.size() != ref.size())
      return fmt::format("[dist] {}: rank 0 passed {} tensors but rank {} passed {}", op, ref.size(), r, mine.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      if (mine[i].numel() != ref[i].numel() || mine[i].dtype() != ref[i].dtype())
        return fmt::format("[dist] {}: tensor {} is {} {} on rank 0 but {} {} on rank {}", op, i,
                           shape_str(ref[i].shape()), dtype_name(ref[i].dtype()), shape_str(mine[i].shape()),
                           dtype_name(mine[i].dtype()), r);
    }
    if (slots[r].root != slots[0].root)
      return fmt::format("[dist] {}: rank 0 names root {} but rank {} names root {}", op, slots[0].root, r,
                         slots[r].root);
  }
  return "";
}

void InProcessCommunicator::all_reduce(const std::vector<Tensor>& tensors, ReduceOp op) {
  InProcessGroup& g = *group_;
  auto& me = g.slots_[rank_];
  me.tensors = &tensors;
  me.error = local_problem("all_reduce", tensors);
  me.root = 0;
  g.sync(rank_);  // every rank's slot is filled
  const std::string problem = group_problem("all_reduce");
  if (!problem.empty()) {
    g.sync(rank_);  // nobody reads the slots any more
    LOGLIN_FAIL("{}", problem);
  }
  // Every rank computes the whole result itself, in rank order, into private
  // memory: the same bits everywhere, and no rank writes what another reads.
  const int world = g.world_size();
  std::vector<std::vector<float>> out32(tensors.size());
  std::vector<std::vector<double>> out64(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const int64_t n = tensors[i].numel();
    if (tensors[i].dtype() == DType::f32) {
      std::vector<const float*> ins;
      for (const auto& s : g.slots_) ins.push_back((*s.tensors)[i].data<float>());
      reduce_into(out32[i], ins, n, op, world);
    } else {
      std::vector<const double*> ins;
      for (const auto& s : g.slots_) ins.push_back((*s.tensors)[i].data<double>());
      reduce_into(out64[i], ins, n, op, world);
    }
    stats_.all_reduce_bytes += n * static_cast<int64_t>(dtype_size(tensors[i].dtype()));
  }
  g.sync(rank_);  // every rank has read every input
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].dtype() == DType::f32)
      std::copy(out32[i].begin(), out32[i].end(), tensors[i].data<float>());
    else
      std::copy(out64[i].begin(), out64[i].end(), tensors[i].data<double>());
  }
  ++stats_.all_reduce_calls;
}

void InProcessCommunicator::broadcast(const std::vector<Tensor>& tensors, int root) {
  InProcessGroup& g = *group_;
  auto& me = g.slots_[rank_];
  me.tensors = &tensors;
  me.error = local_problem("broadcast", tensors);
  if (me.error.empty() && (root < 0 || root >= g.world_size()))
    me.error = fmt::format("[dist] broadcast: root {} outside ranks 0..{}", root, g.world_size() - 1);
  me.root = root;
  g.sync(rank_);
  const std::string problem = group_problem("broadcast");
  if (!problem.empty()) {
    g.sync(rank_);
    LOGLIN_FAIL("{}", problem);
  }
  if (rank_ != root) {
    const std::vector<Tensor>& src = *g.slots_[root].tensors;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const size_t bytes = static_cast<size_t>(tensors[i].numel()) * dtype_size(tensors[i].dtype());
      std::memcpy(tensors[i].raw_data(), src[i].raw_data(), bytes);
    }
  }
  g.sync(rank_);  // the root may change its tensors only after every rank copied them
  ++stats_.broadcast_calls;
}

void InProcessCommunicator::barrier() {
  group_->sync(rank_);
  ++stats_.barrier_calls;
}

void run_in_process(int world_size, const std::function<void(Communicator&)>& fn) {
  auto group = std::make_shared<InProcessGroup>(world_size);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world_size));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(world_size));
  for (int r = 0; r < world_size; ++r) {
    threads.emplace_back([&, r] {
      try {
        InProcessCommunicator comm(group, r);
        fn(comm);
      } catch (const std::exception& e) {
        errors[r] = std::current_exception();
        group->leave(r, fmt::format("failed: {}", e.what()));
        return;
      } catch (...) {
        errors[r] = std::current_exception();
        group->leave(r, "failed (an exception that is not a std::exception)");
        return;
      }
      // Every rank must call the same collectives: one that still waits for
      // this rank is told so instead of hanging.
      group->leave(r, "returned (the ranks called different collectives)");
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace loglin::dist

// The table that lets one kernel launch update every parameter: each entry is
// a slice of at most kChunkElems elements of one tensor (and of its gradient
// and optimizer state), and one thread block works on one entry. Plain C++;
// train/optim/multi_tensor_cuda.cu uploads it, optimizer_cuda.cu reads it.
#pragma once
#include <cstdint>
#include <vector>

namespace loglin::cuda {

// Unused pointers are null (clipping reads only grad).
struct ParamChunk {
  float* param = nullptr;
  float* grad = nullptr;
  float* state0 = nullptr;  // AdamW exp_avg, SGD momentum
  float* state1 = nullptr;  // AdamW exp_avg_sq
  int64_t n = 0;
  double weight_decay = 0;

  bool operator==(const ParamChunk& o) const {
    return param == o.param && grad == o.grad && state0 == o.state0 && state1 == o.state1 && n == o.n &&
           weight_decay == o.weight_decay;
  }
};

// Small enough that a model with a few large matrices still spreads over
// every SM, large enough that the table stays a few hundred KB.
constexpr int64_t kChunkElems = int64_t{1} << 16;

// Appends `whole` (n elements from its pointers on) as chunks.
inline void append_chunks(std::vector<ParamChunk>& table, const ParamChunk& whole) {
  for (int64_t off = 0; off < whole.n; off += kChunkElems) {
    ParamChunk c = whole;
    auto at = [off](float* p) { return p ? p + off : nullptr; };
    c.param = at(whole.param), c.grad = at(whole.grad), c.state0 = at(whole.state0), c.state1 = at(whole.state1);
    c.n = whole.n - off < kChunkElems ? whole.n - off : kChunkElems;
    table.push_back(c);
  }
}

// A device copy of a chunk table, refreshed with one cudaMemcpyAsync from a
// pinned staging buffer when the chunks differ from the last upload (the
// gradients' addresses change whenever they are dropped and recomputed).
class ChunkTable {
 public:
  ChunkTable() = default;
  ~ChunkTable();
  ChunkTable(const ChunkTable&) = delete;
  ChunkTable& operator=(const ChunkTable&) = delete;

  // `chunks` in device memory, readable by work queued on cuda::stream(device)
  // after this call. `op` names the caller in errors.
  const ParamChunk* upload(const std::vector<ParamChunk>& chunks, int device, const char* op);

 private:
  void release() noexcept;

  std::vector<ParamChunk> uploaded_;  // what the device copy holds
  ParamChunk* staging_ = nullptr;     // pinned host memory
  ParamChunk* table_ = nullptr;       // device memory
  size_t capacity_ = 0;               // entries in both
  int device_ = -1;
  void* copied_ = nullptr;  // cudaEvent_t: the last upload has finished reading staging_
};

}  // namespace loglin::cuda

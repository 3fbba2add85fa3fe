// Builds the gated delta rule's CUDA problem from a Layout (gpu_plan.h).
#include "ops/gated_delta_rule/cuda/gpu_plan.h"

#include <algorithm>
#include <vector>

namespace loglin::gdr {

static_assert(sizeof(GpuSeq) == 3 * sizeof(int64_t), "the sequence table is uploaded as a flat int64 array");

GpuProblem problem_of(const lla::Layout& lay, bool log_linear, Device device) {
  GpuProblem p;
  p.H = lay.H, p.G = lay.G, p.K = lay.K, p.V = lay.V, p.L = lay.L;
  p.log_linear = log_linear;
  p.rows = lay.rows;
  p.n_seqs = static_cast<int64_t>(lay.seqs.size());
  for (const lla::Seq& s : lay.seqs) p.max_len = std::max(p.max_len, s.len);
  p.C = lay.C;
  p.device = device.index;
  return p;
}

GpuPlan make_gpu_plan(const lla::Layout& lay, bool log_linear, Device device) {
  GpuPlan plan;
  plan.prob = problem_of(lay, log_linear, device);
  std::vector<int64_t> flat;
  flat.reserve(lay.seqs.size() * 3);
  for (const lla::Seq& s : lay.seqs) flat.insert(flat.end(), {s.row0, s.len, s.pos});
  plan.table = Tensor::from_vector(flat, {static_cast<int64_t>(flat.size())}).to(device);
  plan.prob.seqs = reinterpret_cast<const GpuSeq*>(plan.table.data<int64_t>());
  return plan;
}

}  // namespace loglin::gdr

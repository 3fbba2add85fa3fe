// Builds the CUDA path's tables from a Layout: one GpuSeq per sequence, one
// GpuChunk per (sequence, chunk) of the call, and the range-tree nodes each
// sequence keeps (RangeTree's levels and indices), all in one int64 upload.
#include "ops/log_linear_attention/gpu_plan.h"

#include <algorithm>

namespace loglin::lla {

static_assert(sizeof(GpuSeq) == 8 * sizeof(int64_t) && sizeof(GpuChunk) == 2 * sizeof(int64_t) &&
                  sizeof(GpuNode) == 3 * sizeof(int64_t),
              "the tables are uploaded as flat int64 arrays");

GpuPlan make_gpu_plan(const Layout& lay, Device device) {
  std::vector<int64_t> seqs, jobs, nodes;
  int64_t n_jobs = 0, n_nodes = 0, n_groups = 0;
  int max_levels = 0;
  for (size_t si = 0; si < lay.seqs.size(); ++si) {
    const Seq& s = lay.seqs[si];
    const int64_t n0 = s.pos >> lay.c, n1 = (s.pos + s.len - 1) >> lay.c;
    seqs.insert(seqs.end(), {s.row0, s.len, s.pos, n0, n1, n_nodes, n_jobs, n_groups});
    n_groups += (n1 >> 3) - (n0 >> 3) + 1;
    for (int64_t n = n0; n <= n1; ++n, ++n_jobs) jobs.insert(jobs.end(), {static_cast<int64_t>(si), n});
    int j = 0;
    for (; (n1 >> j) - (n0 >> j) > 0; ++j)
      for (int64_t a = n0 >> j; a < (n1 >> j); ++a, ++n_nodes)
        nodes.insert(nodes.end(), {static_cast<int64_t>(si), j, a});
    max_levels = std::max(max_levels, j);
  }
  std::vector<int64_t> all = seqs;
  all.insert(all.end(), jobs.begin(), jobs.end());
  all.insert(all.end(), nodes.begin(), nodes.end());

  GpuPlan plan;
  plan.tables = Tensor::from_vector(all, {static_cast<int64_t>(all.size())}).to(device);
  const int64_t* base = plan.tables.data<int64_t>();
  GpuProblem& p = plan.prob;
  p.H = lay.H, p.G = lay.G, p.K = lay.K, p.V = lay.V, p.L = lay.L, p.C = lay.C, p.c = lay.c;
  p.rows = lay.rows;
  p.n_seqs = static_cast<int64_t>(lay.seqs.size());
  p.n_jobs = n_jobs;
  p.n_nodes = n_nodes;
  p.n_groups = n_groups;
  p.max_levels = max_levels;
  p.seqs = reinterpret_cast<const GpuSeq*>(base);
  p.jobs = reinterpret_cast<const GpuChunk*>(base + seqs.size());
  p.nodes = reinterpret_cast<const GpuNode*>(base + seqs.size() + jobs.size());
  p.device = device.index;
  return plan;
}

}  // namespace loglin::lla

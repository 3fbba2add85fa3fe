// Builds the CUDA path's tables from a Layout: one GpuSeq per sequence, one
// GpuChunk per (sequence, chunk) of the call, and the range-tree nodes each
// sequence keeps (RangeTree's levels and indices), all in one int64 upload.
#include "ops/log_linear_attention/cuda/gpu_plan.h"

#include <algorithm>

namespace loglin::lla {

static_assert(sizeof(GpuSeq) == 8 * sizeof(int64_t) && sizeof(GpuChunk) == 2 * sizeof(int64_t) &&
                  sizeof(GpuNode) == 3 * sizeof(int64_t),
              "the tables are uploaded as flat int64 arrays");

namespace {

// The counts of the tables (and, with `tables`, the tables themselves).
struct Tables {
  std::vector<int64_t> seqs, jobs, nodes;
};

GpuProblem count(const Layout& lay, Device device, Tables* tables) {
  Tables scratch;
  std::vector<int64_t>& seqs = (tables ? tables : &scratch)->seqs;
  std::vector<int64_t>& jobs = (tables ? tables : &scratch)->jobs;
  std::vector<int64_t>& nodes = (tables ? tables : &scratch)->nodes;
  int64_t n_jobs = 0, n_nodes = 0, n_groups = 0;
  int max_levels = 0;
  for (size_t si = 0; si < lay.seqs.size(); ++si) {
    const Seq& s = lay.seqs[si];
    const int64_t n0 = s.pos >> lay.c, n1 = (s.pos + s.len - 1) >> lay.c;
    seqs.insert(seqs.end(), {s.row0, s.len, s.pos, n0, n1, n_nodes, n_jobs, n_groups});
    n_groups += (n1 >> 3) - (n0 >> 3) + 1;
    if (tables)
      for (int64_t n = n0; n <= n1; ++n) jobs.insert(jobs.end(), {static_cast<int64_t>(si), n});
    n_jobs += n1 - n0 + 1;
    int j = 0;
    for (; (n1 >> j) - (n0 >> j) > 0; ++j) {
      if (tables)
        for (int64_t a = n0 >> j; a < (n1 >> j); ++a) nodes.insert(nodes.end(), {static_cast<int64_t>(si), j, a});
      n_nodes += (n1 >> j) - (n0 >> j);
    }
    max_levels = std::max(max_levels, j);
  }
  GpuProblem p;
  p.H = lay.H, p.G = lay.G, p.K = lay.K, p.V = lay.V, p.L = lay.L, p.C = lay.C, p.c = lay.c;
  p.rows = lay.rows;
  p.n_seqs = static_cast<int64_t>(lay.seqs.size());
  p.n_jobs = n_jobs;
  p.n_nodes = n_nodes;
  p.n_groups = n_groups;
  p.max_levels = max_levels;
  p.device = device.index;
  return p;
}

}  // namespace

GpuProblem problem_of(const Layout& lay, Device device) { return count(lay, device, nullptr); }

GpuPlan make_gpu_plan(const Layout& lay, Device device) {
  Tables t;
  GpuPlan plan;
  plan.prob = count(lay, device, &t);
  std::vector<int64_t> all = t.seqs;
  all.insert(all.end(), t.jobs.begin(), t.jobs.end());
  all.insert(all.end(), t.nodes.begin(), t.nodes.end());
  plan.tables = Tensor::from_vector(all, {static_cast<int64_t>(all.size())}).to(device);
  const int64_t* base = plan.tables.data<int64_t>();
  GpuProblem& p = plan.prob;
  p.seqs = reinterpret_cast<const GpuSeq*>(base);
  p.jobs = reinterpret_cast<const GpuChunk*>(base + t.seqs.size());
  p.nodes = reinterpret_cast<const GpuNode*>(base + t.seqs.size() + t.jobs.size());
  return plan;
}

}  // namespace loglin::lla

// The problem description the CUDA kernels of this folder read (interim
// path, ops/log_linear_attention/README.md "GPU path"). Plain C++17: included by the .cu
// files and by gpu_plan.cpp, which builds the tables on the host from a
// Layout and uploads them.
#pragma once
#include <cstdint>

namespace loglin::lla {

// One sequence (chunk_cpu.h's Seq plus what the kernels need to find its
// chunks and tree nodes without searching): chunks n0..n1 of the call, its
// first chunk job in the job table and its first node in the node table;
// grp_off: its first group of 8 aligned chunks (n >> 3) in the table of
// groups (v2's backward keeps node-gradient partials per group).
struct GpuSeq {
  int64_t row0, len, pos, n0, n1, node_off, job_off, grp_off;
};
// One chunk of one sequence: the unit of the per-chunk kernels.
struct GpuChunk {
  int64_t seq, n;
};
// One range-tree node (j, a) of one sequence; the table lists, per sequence,
// level 0 first and a ascending, so a node's index is its row in the table.
struct GpuNode {
  int64_t seq, j, a;
};

// All tables live on `device`. The tree has, per sequence, the levels
// j = 0, 1, ... while (n1 >> j) - (n0 >> j) > 0, as RangeTree.
struct GpuProblem {
  int64_t H = 0, G = 0, K = 0, V = 0, L = 0, C = 64;
  int c = 6;
  int64_t rows = 0, n_seqs = 0, n_jobs = 0, n_nodes = 0;
  int64_t n_groups = 0;  // groups of 8 aligned chunks, over all sequences
  int max_levels = 0;    // the most tree levels of any sequence
  const GpuSeq* seqs = nullptr;
  const GpuChunk* jobs = nullptr;
  const GpuNode* nodes = nullptr;
  int device = 0;
};

// Inputs, outputs and workspace of a forward, all contiguous on the device.
//   q, k [B,T,G,K]; v, o [B,T,H,V]; g [B,T,H]; ls [B,T,H,L] (null for
//   scalar decay: lambda == 1, no levels); states [N,H,L,K,V].
// T is the element type of q, k, v, ls and o; A the type of g, the states and
// the workspace. The interim path uses A = T (f32 or f64); a version with
// native bf16 inputs (kernel_versions.h) gets T = bf16, A = float.
template <class T, class A = T>
struct GpuForward {
  const T *q = nullptr, *k = nullptr, *v = nullptr;
  const A* g = nullptr;
  const T* ls = nullptr;
  const A* state_in = nullptr;  // or null
  T* o = nullptr;
  A* state_out = nullptr;  // or null
  double* Gd = nullptr;    // [rows, H] workspace: G per row, in double as on the cpu
  A* nodes = nullptr;      // [n_nodes, H, K, V] tree nodes; scalar decay: [n_jobs, H, K, V] chunk states
  A* prefix = nullptr;     // [N, H, L, K, V] prefix sums of state_in (when given)
};

template <class T, class A = T>
struct GpuBackward {
  GpuForward<T, A> fwd;             // inputs, the forward's o and final state (if any)
  const T* dout = nullptr;          // [B,T,H,V]
  const A* dstate_out = nullptr;    // [N,H,L,K,V] or null
  T *dq = nullptr, *dk = nullptr;   // [B,T,G,K]
  T* dv = nullptr;                  // [B,T,H,V]
  A* dg = nullptr;                  // [B,T,H]
  T* dls = nullptr;                 // [B,T,H,L] (log-linear only)
  A* dstate_in = nullptr;           // [N,H,L,K,V] or null when not wanted
  A *dq_head = nullptr, *dk_head = nullptr;  // [rows, H, K] workspace
  A* dnodes = nullptr;              // like fwd.nodes: node gradients; scalar decay: per-chunk dU
  A* dscratch = nullptr;            // [N,H,L,K,V] workspace when dstate_in is wanted
  // The forward's workspace, kept alive for a version that reuses it
  // (KernelVersion::backward_reuses_forward_workspace), else null.
  const void* forward_workspace = nullptr;
};

}  // namespace loglin::lla

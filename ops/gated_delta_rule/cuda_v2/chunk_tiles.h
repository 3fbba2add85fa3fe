// What the forward and the backward of v2 share on the host side: the
// workspace tiles the prep kernel writes (one 64-row tile per (head, chunk))
// and the launchers of the chunk table, the prep kernel and the scan
// (gated_delta_rule_v2.cu). Plain C++17 (no CUDA types).
#pragma once
#include <cstdint>

#include "ops/gated_delta_rule/cuda/gdr_cuda.h"
#include "ops/workspace_carver.h"

namespace loglin::gdr::v2 {

struct ChunkTiles {
  int64_t* chunk_begin = nullptr;  // [N + 1]: the first chunk of each sequence, then the count
  float *qt = nullptr, *w = nullptr, *kt = nullptr;  // [H, nch, C, K]: Q~, W, K~
  float *u = nullptr, *oi = nullptr;                 // [H, nch, C, V]: U, the intra-chunk output
  float* decay = nullptr;                            // [H, nch]: exp(gamma_last)
  float* yf = nullptr;                               // [N, H, C, K]: Tm^T K~ of each last chunk, or null
  float* slots = nullptr;                            // [N, H, Ls, K, V]: the scan's level states
  int64_t nch = 0;                                   // chunk capacity
};

// An upper bound on the chunks of a call: each sequence adds at most two
// partial chunks to rows / C whole ones.
int64_t chunk_capacity(const GpuProblem& p);

// Carves the tiles (yf only when the log-linear final state is asked).
ChunkTiles carve_tiles(WorkspaceCarver& c, const GpuProblem& p, bool final_state);

// The chunk table and the prep kernel: every tile but the slots.
void launch_prep(const GpuProblem& p, const GpuForward<float>& f, const ChunkTiles& t);

// The scan over chunks. With f.o set: o and (f.state_out) the final state.
// With h_out set instead (the plain form's backward): no output, the state
// entering every chunk stored to h_out [H, nch, K, V].
void launch_scan(const GpuProblem& p, const GpuForward<float>& f, const ChunkTiles& t, float* h_out);

}  // namespace loglin::gdr::v2

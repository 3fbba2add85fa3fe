// What every CUDA version of the gated delta rule reads: the problem (sizes
// and the device table of sequences) and the raw device pointers of one
// forward or backward. Plain C++17 without CUDA types or tensors: the .cu
// files, the registry (../kernel_versions.h) and the host side
// (gpu_plan.cpp, cuda_implementation.cpp) include it.
//
// Layouts (all contiguous, row = the flattened (B*T) axis):
//   q, k [rows, G, K]; v, o [rows, H, V]; g, beta [rows, H];
//   ls [rows, H, L] (log-linear form only); states [N, H, L, K, V].
// L is the number of state levels: level_scales' last dim for the log-linear
// form, 1 for the plain gated delta rule (no level scales, lambda = 1).
#pragma once
#include <cstdint>

namespace loglin::gdr {

// One sequence: rows row0 .. row0+len-1, its first token at absolute
// position pos (the tokens its initial state consumed; 0 without one).
struct GpuSeq {
  int64_t row0, len, pos;
};

struct GpuProblem {
  int64_t H = 0, G = 0, K = 0, V = 0;
  int64_t L = 1;              // state levels (1: the plain form)
  bool log_linear = false;    // level scales present: levels re-bucket and lambda weights them
  int64_t rows = 0, n_seqs = 0;
  int64_t max_len = 0;        // the longest sequence
  int64_t C = 64;             // the op's chunk size (a version may use it or not)
  const GpuSeq* seqs = nullptr;  // [n_seqs] on the device (null in a problem made only to choose a version)
  int device = 0;
};

// A forward's pointers. T: q, k, v, beta, ls, o; A: g and the states (T,
// or f32 for a version with bf16 inputs).
template <class T, class A = T>
struct GpuForward {
  const T *q = nullptr, *k = nullptr, *v = nullptr;
  const A* g = nullptr;
  const T* beta = nullptr;
  const T* ls = nullptr;        // null for the plain form
  const A* state_in = nullptr;  // or null: zero
  T* o = nullptr;
  A* state_out = nullptr;       // or null: not asked
};

// A backward's pointers. Every gradient is assigned; dq, dk are summed over
// each group's heads.
template <class T, class A = T>
struct GpuBackward {
  GpuForward<T, A> fwd;           // the forward's inputs (o and state_out are not read)
  const T* dout = nullptr;        // [rows, H, V]
  const A* dstate_out = nullptr;  // [N, H, L, K, V], or null: no gradient on the final state
  T *dq = nullptr, *dk = nullptr; // [rows, G, K]
  T* dv = nullptr;                // [rows, H, V]
  A* dg = nullptr;                // [rows, H]
  T* dbeta = nullptr;             // [rows, H]
  T* dls = nullptr;               // [rows, H, L]; null for the plain form
  A* dstate_in = nullptr;         // [N, H, L, K, V], or null when not wanted
};

}  // namespace loglin::gdr

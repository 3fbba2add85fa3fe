// Internal to ops/log_linear_attention: the pieces shared by the chunked CPU
// forward, its backward and the entry point. Levels, chunks, the range tree
// and the initial-state bookkeeping are defined once here so the forward and
// the backward read the same positions the same way. README.md in this
// folder explains the algorithm with these names.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/chunk_layout/layout.h"
#include "ops/log_linear_attention/checks.h"

namespace loglin::lla {

// ---- Eigen views ----

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using CMap = Eigen::Map<const RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using MMap = Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

// The inputs of one (sequence, head), rows local to the sequence (row i is
// absolute position pos + i). q, k are [B,T,G,K], v [B,T,H,V], g [B,T,H],
// level_scales [B,T,H,L], all contiguous.
template <class T>
struct HeadView {
  int64_t len = 0, pos = 0, K = 0, V = 0;
  const T *q = nullptr, *k = nullptr, *v = nullptr, *g = nullptr, *ls = nullptr;
  int64_t sqk = 0, sv = 0, sg = 0, sls = 0;  // row strides

  HeadView(const Layout& lay, const Seq& s, int64_t h, const T* q_, const T* k_, const T* v_, const T* g_,
           const T* ls_)
      : len(s.len), pos(s.pos), K(lay.K), V(lay.V) {
    const int64_t grp = lay.group_of(h);
    sqk = lay.G * lay.K;
    sv = lay.H * lay.V;
    sg = lay.H;
    sls = lay.H * lay.L;
    q = q_ + s.row0 * sqk + grp * lay.K;
    k = k_ + s.row0 * sqk + grp * lay.K;
    v = v_ + s.row0 * sv + h * lay.V;
    g = g_ + s.row0 * sg + h;
    ls = ls_ + s.row0 * sls + h * lay.L;
  }
  CMap<T> Q(int64_t r0, int64_t n) const { return CMap<T>(q + r0 * sqk, n, K, Eigen::OuterStride<>(sqk)); }
  CMap<T> Kr(int64_t r0, int64_t n) const { return CMap<T>(k + r0 * sqk, n, K, Eigen::OuterStride<>(sqk)); }
  CMap<T> Vr(int64_t r0, int64_t n) const { return CMap<T>(v + r0 * sv, n, V, Eigen::OuterStride<>(sv)); }
  T lambda(int64_t i, int l) const { return ls[i * sls + l]; }
};

// Per-head output rows [len, cols] with the given row stride.
template <class T>
MMap<T> rows_of(T* base, int64_t len, int64_t cols, int64_t stride) {
  return MMap<T>(base, len, cols, Eigen::OuterStride<>(stride));
}

// G_i = g_0 + ... + g_i over the sequence's rows, accumulated in double so
// that differences G_t - G_s keep their digits at long T in f32 too.
template <class T>
std::vector<double> cumulative_decay(const HeadView<T>& hv) {
  std::vector<double> Gd(static_cast<size_t>(hv.len));
  double acc = 0;
  for (int64_t i = 0; i < hv.len; ++i) {
    acc += static_cast<double>(hv.g[i * hv.sg]);
    Gd[i] = acc;
  }
  return Gd;
}

// ---- the range tree ----

// Node (j, a) is the decayed sum over the 2^j chunks [a 2^j, (a+1) 2^j):
//   R(j, a) = sum_s exp(G_end - G_s) k_s v_s^T,   end = last position of the range,
// over the sources s of this call inside the range. Level 0 holds the
// per-chunk states U(m); a parent is exp(G_end(right) - G_end(left)) * left
// + right. Only the nodes some query reads exist: a in [n0 >> j, (n1 >> j) - 1]
// (the ranges that end before chunk n1 and after the call's start). Each node
// is a K x V row-major matrix.
template <class T>
class RangeTree {
 public:
  RangeTree(const ChunkGrid& grid, int64_t K, int64_t V) : grid_(grid), K_(K), V_(V) {
    for (int j = 0;; ++j) {
      const int64_t count = (grid.n1 >> j) - (grid.n0 >> j);
      if (count <= 0) break;
      base_.push_back(grid.n0 >> j);
      nodes_.emplace_back(static_cast<size_t>(count * K * V), T(0));
    }
  }
  int levels() const { return static_cast<int>(nodes_.size()); }
  int64_t first(int j) const { return base_[j]; }
  int64_t count(int j) const { return static_cast<int64_t>(nodes_[j].size()) / (K_ * V_); }
  bool has(int j, int64_t a) const { return j < levels() && a >= base_[j] && a < base_[j] + count(j); }
  T* node(int j, int64_t a) { return nodes_[j].data() + (a - base_[j]) * K_ * V_; }
  const T* node(int j, int64_t a) const { return nodes_[j].data() + (a - base_[j]) * K_ * V_; }
  MMap<T> mat(int j, int64_t a) { return MMap<T>(node(j, a), K_, V_, Eigen::OuterStride<>(V_)); }
  CMap<T> mat(int j, int64_t a) const { return CMap<T>(node(j, a), K_, V_, Eigen::OuterStride<>(V_)); }
  // Local row of the last position of the range of node (j, a).
  int64_t last_row(int j, int64_t a) const { return ((a + 1) << j) * grid_.C - 1 - grid_.pos; }

  // Calls f(j, a, level) for each range that chunk n reads: for every set bit
  // j of n, the node covering [(n >> (j+1)) << (j+1), (n >> j) << j), whose
  // sources are at level c + j + 1 from every query of chunk n. Ranges wholly
  // before the call's first chunk are empty and skipped.
  template <class F>
  void for_each_read(int64_t n, F&& f) const {
    for (int j = 0; j < levels(); ++j) {
      if (!((n >> j) & 1)) continue;
      const int64_t a = (n >> j) - 1;
      if (a >= base_[j]) f(j, a, grid_.c + j + 1);
    }
  }

 private:
  ChunkGrid grid_;
  int64_t K_, V_;
  std::vector<int64_t> base_;
  std::vector<std::vector<T>> nodes_;
};

// Fills the tree: the per-chunk states U(m) (level 0), then the combines
// level by level. Defined in chunk_forward_cpu.cpp.
template <class T>
void build_range_tree(RangeTree<T>& tree, const ChunkGrid& grid, const HeadView<T>& hv, const std::vector<double>& Gd);

// ---- the initial state of one (sequence, head) ----

// levels l = 0..L-1 (K x V each) at the last consumed position c = pos - 1.
// From a query t > c, the sources of level l are at level max(level(t, c), l),
// so with m = level(t, c) the state contributes
//   exp(G_t) * ( lambda_t[m] q_t^T P[m] + sum_{l > m} lambda_t[l] q_t^T S[l] ),
// P[m] = S[0] + ... + S[m] (prefix sums, kept here). G_t counts from the
// call's first row, which is where the state's decay stops.
template <class T>
struct InitialLevels {
  int64_t L = 0, K = 0, V = 0;
  const T* S = nullptr;
  std::vector<T> prefix;      // P[m], L x K x V
  std::vector<bool> nonzero;  // S[l] has a nonzero entry (zero levels are skipped in products)

  InitialLevels(const T* state, int64_t L_, int64_t K_, int64_t V_) : L(L_), K(K_), V(V_), S(state) {
    const int64_t kv = K * V;
    prefix.assign(static_cast<size_t>(L * kv), T(0));
    nonzero.assign(static_cast<size_t>(L), false);
    for (int64_t l = 0; l < L; ++l) {
      for (int64_t e = 0; e < kv; ++e) {
        const T x = S[l * kv + e];
        prefix[l * kv + e] = (l ? prefix[(l - 1) * kv + e] : T(0)) + x;
        if (x != T(0)) nonzero[l] = true;
      }
    }
  }
  CMap<T> level(int64_t l) const { return CMap<T>(S + l * K * V, K, V, Eigen::OuterStride<>(V)); }
  CMap<T> upto(int64_t m) const { return CMap<T>(prefix.data() + m * K * V, K, V, Eigen::OuterStride<>(V)); }
};

// ---- kernels ----

// All tensors contiguous, in the compute type T. g is converted to T.
template <class T>
struct ForwardArgs {
  const T *q = nullptr, *k = nullptr, *v = nullptr, *g = nullptr, *ls = nullptr;
  const T* state_in = nullptr;  // [N, H, L, K, V], or null
  T* o = nullptr;               // [B, T, H, V]
  T* state_out = nullptr;       // [N, H, L, K, V], or null when not asked
};

template <class T>
struct BackwardArgs {
  ForwardArgs<T> fwd;              // the forward's inputs, its o and (if asked) its final state
  const T* dout = nullptr;         // [B, T, H, V]
  const T* dstate_out = nullptr;   // [N, H, L, K, V], or null (no gradient on the final state)
  T *dq = nullptr, *dk = nullptr;  // [B, T, G, K]
  T *dv = nullptr, *dg = nullptr, *dls = nullptr;
  T* dstate_in = nullptr;  // [N, H, L, K, V], or null when not needed
};

template <class T>
void chunk_forward_cpu(const Layout& lay, const ForwardArgs<T>& a);
template <class T>
void chunk_backward_cpu(const Layout& lay, const BackwardArgs<T>& a);

}  // namespace loglin::lla

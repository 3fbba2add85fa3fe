// The layout of a call of the chunked linear-attention family (log-linear
// attention, scalar-decay attention, the gated delta rule): which rows of the
// flattened (B*T) axis form each sequence, where the sequence starts in
// absolute positions, the head and group sizes, the chunk size, and the
// Fenwick levels. Plain C++ without Eigen or tensors: the CPU code, the CUDA
// host code and every op of the family include it.
#pragma once
#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace loglin::lla {

// ---- levels ----

inline int bit_length(int64_t x) { return static_cast<int>(std::bit_width(static_cast<uint64_t>(x))); }
// level(t, s) = bit_length(t XOR s) for absolute positions t, s.
inline int level_of(int64_t t, int64_t s) { return bit_length(t ^ s); }

// ---- the problem's layout ----

// One sequence: `len` rows starting at flattened row `row0` of the (B*T) row
// axis, whose first token has absolute position `pos` (the tokens an initial
// state consumed; 0 without one).
struct Seq {
  int64_t row0 = 0, len = 0, pos = 0;
};

struct Layout {
  int64_t H = 0, G = 0, K = 0, V = 0, L = 0;
  int64_t C = 64;  // chunk size, 2^c
  int c = 6;
  int64_t rows = 0;  // B * T
  std::vector<Seq> seqs;
  int64_t group_of(int64_t h) const { return h / (H / G); }
};

// ---- chunks ----

// Chunks are aligned to absolute multiples of C: chunk n holds absolute
// positions nC .. nC+C-1. A call covering positions pos .. pos+len-1 touches
// chunks n0 .. n1; the first and the last may be partial.
struct ChunkGrid {
  int64_t C = 64, pos = 0, len = 0, n0 = 0, n1 = 0;
  int c = 6;
  ChunkGrid(const Layout& lay, const Seq& s)
      : C(lay.C), pos(s.pos), len(s.len), n0(s.pos >> lay.c), n1((s.pos + s.len - 1) >> lay.c), c(lay.c) {}
  int64_t first_row(int64_t n) const { return std::max<int64_t>(n * C - pos, 0); }
  int64_t end_row(int64_t n) const { return std::min<int64_t>((n + 1) * C - pos, len); }
};

// Calls f(i0, i1, m) for the maximal runs of rows [r0, r1) that share
// m = level(pos + i, ref). Used for the levels seen from the last position of
// an initial state (ref = pos - 1) and from the last row (ref = pos+len-1).
template <class F>
void for_each_level_run(int64_t r0, int64_t r1, int64_t pos, int64_t ref, F&& f) {
  int64_t i0 = r0;
  while (i0 < r1) {
    const int m = level_of(pos + i0, ref);
    int64_t i1 = i0 + 1;
    while (i1 < r1 && level_of(pos + i1, ref) == m) ++i1;
    f(i0, i1, m);
    i0 = i1;
  }
}

// dq, dk per group from per-head gradients [rows, H, K]: each group's heads
// summed in head order, so the result does not depend on threading.
template <class T>
void reduce_heads_to_groups(const Layout& lay, int64_t G, const T* dq_head, const T* dk_head, T* dq, T* dk) {
  const int64_t H = lay.H, K = lay.K, per = H / G;
#pragma omp parallel for if (lay.rows * H * K > (1 << 16))
  for (int64_t r = 0; r < lay.rows; ++r) {
    for (int64_t grp = 0; grp < G; ++grp) {
      T* q = dq + (r * G + grp) * K;
      T* k = dk + (r * G + grp) * K;
      for (int64_t x = 0; x < K; ++x) {
        T sq = 0, sk = 0;
        for (int64_t hh = grp * per; hh < (grp + 1) * per; ++hh) {
          sq += dq_head[(r * H + hh) * K + x];
          sk += dk_head[(r * H + hh) * K + x];
        }
        q[x] = sq;
        k[x] = sk;
      }
    }
  }
}

}  // namespace loglin::lla

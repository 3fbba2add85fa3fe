// TF32 tensor-core fragments for the v2 kernels on f32 inputs: mma.sync
// m16n8k8 (tf32 inputs, f32 accumulators) fed from f32 shared-memory tiles
// by plain 4- and 8-byte loads (ldmatrix moves 16-bit elements).
//
// One 16 x 16 A block is two m16n8k8 A operands (k = 0..7 and 8..15). The
// TF32 fragments below hold, for lane (g, q) = (lane / 4, lane % 4), exactly
// the elements of the bf16 FragA16 / FragB2 of v2_mma.cuh, unpacked: element
// pair i (y[2 i], y[2 i + 1]) is bf16 register x[i]. So a kernel body written
// against the helpers (load_a, scale_rows, a_from_acc, add_row_dots, ...)
// compiles for both element types with the same index arithmetic.
//
// That works because the k order inside one mma is free as long as A and B
// agree: the instruction's k slot q holds k = 2q and its slot q + 4 holds
// k = 2q + 1 (plus 8 for the second half). Then an accumulator tile, whose
// lane holds columns 2q and 2q + 1, is already an A operand (no shuffles),
// and a row-major tile gives each lane two adjacent elements: one 8-byte
// load. PTX's m16n8k8 .tf32 layouts: a0 (g, q), a1 (g + 8, q), a2 (g, q + 4),
// a3 (g + 8, q + 4); b0 (k q, n g), b1 (k q + 4, n g).
//
// Inputs are passed as f32 bit patterns: the tensor core reads their tf32
// part (10 mantissa bits), i.e. rounds toward zero.
#pragma once
#include "ops/log_linear_attention/cuda_v2/v2_mma.cuh"

namespace loglin::lla::v2 {
namespace {

// y[4h .. 4h + 3] = (g, 8h + 2q), (g, 8h + 2q + 1), (g + 8, 8h + 2q), (g + 8, 8h + 2q + 1).
struct FragA16f {
  float y[8];
};
// Tile t (columns 8t .. 8t + 7), half h: y[4t + 2h], y[4t + 2h + 1] = rows (k)
// 8h + 2q and 8h + 2q + 1 of column g.
struct FragB2f {
  float y[8];
};

template <>
struct Frag<float> {
  using A = FragA16f;
  using B = FragB2f;
};

__device__ __forceinline__ uint32_t bits(float x) { return __float_as_uint(x); }

// d += a b over k 8h .. 8h + 7 for output tile t.
__device__ __forceinline__ void mma_tf32(Acc8& d, const FragA16f& a, const FragB2f& b, int t, int h) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d.x[0]), "+f"(d.x[1]), "+f"(d.x[2]), "+f"(d.x[3])
      : "r"(bits(a.y[4 * h])), "r"(bits(a.y[4 * h + 2])), "r"(bits(a.y[4 * h + 1])), "r"(bits(a.y[4 * h + 3])),
        "r"(bits(b.y[4 * t + 2 * h])), "r"(bits(b.y[4 * t + 2 * h + 1])));
}
// d[0] += a B[:, 0..7], d[1] += a B[:, 8..15] over the 16 k of the block.
__device__ __forceinline__ void mma2(Acc8* d, const FragA16f& a, const FragB2f& b) {
#pragma unroll
  for (int t = 0; t < 2; ++t)
#pragma unroll
    for (int h = 0; h < 2; ++h) mma_tf32(d[t], a, b, t, h);
}

__device__ __forceinline__ float2 lds2(const float* at) { return *reinterpret_cast<const float2*>(at); }

// A fragment of the 16 x 16 block at `at` of a row-major f32 tile (pitch ld, even).
__device__ __forceinline__ FragA16f load_a(const float* at, int ld, int lane) {
  const int g = lane >> 2, c = 2 * (lane & 3);
  FragA16f a;
#pragma unroll
  for (int i = 0; i < 4; ++i) {  // pair i: row g + 8 (i & 1), columns c + 8 (i >> 1)
    const float2 u = lds2(at + (g + 8 * (i & 1)) * ld + c + 8 * (i >> 1));
    a.y[2 * i] = u.x, a.y[2 * i + 1] = u.y;
  }
  return a;
}
// A fragment of the transpose: A[m][k] = T[k][m] for the 16 x 16 block at `at`.
__device__ __forceinline__ FragA16f load_a_trans(const float* at, int ld, int lane) {
  const int g = lane >> 2, c = 2 * (lane & 3);
  FragA16f a;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float* col = at + (c + 8 * (i >> 1)) * ld + g + 8 * (i & 1);
    a.y[2 * i] = col[0], a.y[2 * i + 1] = col[ld];
  }
  return a;
}
// B (16 k x 16 n) from a tile stored n-major, T[n][k] (k contiguous).
__device__ __forceinline__ FragB2f load_b_nk(const float* at, int ld, int lane) {
  const int g = lane >> 2, c = 2 * (lane & 3);
  FragB2f b;
#pragma unroll
  for (int i = 0; i < 4; ++i) {  // i = 2t + h
    const float2 u = lds2(at + (8 * (i >> 1) + g) * ld + 8 * (i & 1) + c);
    b.y[2 * i] = u.x, b.y[2 * i + 1] = u.y;
  }
  return b;
}
// B (16 k x 16 n) from a tile stored k-major, T[k][n] (n contiguous).
__device__ __forceinline__ FragB2f load_b_kn(const float* at, int ld, int lane) {
  const int g = lane >> 2, c = 2 * (lane & 3);
  FragB2f b;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float* col = at + (8 * (i & 1) + c) * ld + 8 * (i >> 1) + g;
    b.y[2 * i] = col[0], b.y[2 * i + 1] = col[ld];
  }
  return b;
}

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ void from_f(float x, float& out) { out = x; }
__device__ __forceinline__ void store_pair(float* at, float lo, float hi) {
  *reinterpret_cast<float2*>(at) = make_float2(lo, hi);
}

__device__ __forceinline__ void a_from_acc(FragA16f& out, const Acc8& lo, const Acc8& hi) {
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    out.y[e] = lo.x[e];
    out.y[4 + e] = hi.x[e];
  }
}

__device__ __forceinline__ FragA16f scale_rows(const FragA16f& a, float wA, float wB) {
  FragA16f r;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float w = (i & 1) ? wB : wA;
    r.y[2 * i] = w * a.y[2 * i], r.y[2 * i + 1] = w * a.y[2 * i + 1];
  }
  return r;
}
__device__ __forceinline__ FragA16f scale_cols(const FragA16f& a, float w0, float w1, float w8, float w9) {
  FragA16f r;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    r.y[2 * i] = ((i >> 1) ? w8 : w0) * a.y[2 * i];
    r.y[2 * i + 1] = ((i >> 1) ? w9 : w1) * a.y[2 * i + 1];
  }
  return r;
}
__device__ __forceinline__ FragB2f scale_rows(const FragB2f& b, float w0, float w1, float w8, float w9) {
  FragB2f r;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    r.y[2 * i] = ((i & 1) ? w8 : w0) * b.y[2 * i];
    r.y[2 * i + 1] = ((i & 1) ? w9 : w1) * b.y[2 * i + 1];
  }
  return r;
}

template <int N>
__device__ __forceinline__ void store_rows(const Acc8* acc, float* outA, float* outB, int lane) {
  const int c = 2 * (lane & 3);
#pragma unroll
  for (int x = 0; x < N; ++x) {
    if (outA) store_pair(outA + 8 * x + c, acc[x].x[0], acc[x].x[1]);
    if (outB) store_pair(outB + 8 * x + c, acc[x].x[2], acc[x].x[3]);
  }
}

template <int KK>
__device__ __forceinline__ void add_row_dots(const FragA16f (&f)[KK], const Acc8* c, float& a, float& b) {
#pragma unroll
  for (int kk = 0; kk < KK; ++kk) {
    a += f[kk].y[0] * c[2 * kk].x[0] + f[kk].y[1] * c[2 * kk].x[1];
    b += f[kk].y[2] * c[2 * kk].x[2] + f[kk].y[3] * c[2 * kk].x[3];
    a += f[kk].y[4] * c[2 * kk + 1].x[0] + f[kk].y[5] * c[2 * kk + 1].x[1];
    b += f[kk].y[6] * c[2 * kk + 1].x[2] + f[kk].y[7] * c[2 * kk + 1].x[3];
  }
}

// S += A_w B^T over D: A_w the warp's 16 rows at a_rows, B the 64 rows of
// bt (both row-major, pitch ld), for the 16-column blocks j2 of S that
// take(j2) selects (warp-uniform: a chunk's causal blocks); the other tiles
// are left as they are. For either element type (declared after both
// types' overloads, which a template sees only if declared before it).
template <int D, class E, class Take>
__device__ __forceinline__ void rows_times_rows_t(Acc8 (&S)[8], const E* a_rows, const E* bt, int ld, int lane,
                                                  Take take) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const typename Frag<E>::A a = load_a(a_rows + kk * 16, ld, lane);
#pragma unroll
    for (int j2 = 0; j2 < 4; ++j2)
      if (take(j2)) mma2(&S[2 * j2], a, load_b_nk(bt + j2 * 16 * ld + kk * 16, ld, lane));
  }
}

}  // namespace
}  // namespace loglin::lla::v2

// Register-level bf16 tensor-core fragments for the v2 kernels: mma.sync
// m16n8k16 (f32 accumulators) fed by ldmatrix. Unlike WMMA, the fragment
// layouts are documented (PTX ISA, "Matrix Fragments for mma.m16n8k16"), so a
// kernel can scale, mask or reduce an accumulator in registers and feed it
// back as an A operand, instead of a round trip through shared memory with a
// warp barrier each way.
//
// Layouts, for lane l of the warp, g = l / 4 and q = l % 4:
//   Acc8 (16 x 8 f32):   x[0], x[1] = (row g,     cols 2q, 2q + 1)
//                        x[2], x[3] = (row g + 8, cols 2q, 2q + 1)
//   FragA16 (16 x 16 bf16 pairs): x[0] = (row g, cols 2q, 2q+1), x[1] = (row g+8, same cols),
//                        x[2] = (row g, cols 2q+8, 2q+9), x[3] = (row g+8, cols 2q+8, 2q+9)
//   B (16 x 8) as two registers: (rows 2q, 2q+1 | col g) and (rows 2q+8, 2q+9 | col g).
// So accumulator tiles 2i and 2i + 1 of a row block are, packed to bf16, the
// A fragment of its columns 16 i .. 16 i + 15 (a_from_acc).
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

namespace loglin::lla::v2 {
namespace {

struct Acc8 {
  float x[4];
};
struct FragA16 {
  uint32_t x[4];
};
// B fragments of two adjacent 16 x 8 tiles (columns n0 .. n0 + 7 and n0 + 8 .. n0 + 15).
struct FragB2 {
  uint32_t x[4];
};

__device__ __forceinline__ void zero(Acc8& a) { a.x[0] = a.x[1] = a.x[2] = a.x[3] = 0.0f; }

__device__ __forceinline__ unsigned smem_addr(const void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// Four 8 x 8 b16 matrices; lanes 8 i .. 8 i + 7 give the row addresses of matrix i.
__device__ __forceinline__ void ldsm_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}
__device__ __forceinline__ void ldsm_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

// d += a b (one 16 x 8 output tile); b0, b1 as FragB2's pair of one tile.
__device__ __forceinline__ void mma(Acc8& d, const FragA16& a, uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(d.x[0]), "+f"(d.x[1]), "+f"(d.x[2]), "+f"(d.x[3])
      : "r"(a.x[0]), "r"(a.x[1]), "r"(a.x[2]), "r"(a.x[3]), "r"(b0), "r"(b1));
}
// d[0] += a B[:, 0..7], d[1] += a B[:, 8..15].
__device__ __forceinline__ void mma2(Acc8* d, const FragA16& a, const FragB2& b) {
  mma(d[0], a, b.x[0], b.x[1]);
  mma(d[1], a, b.x[2], b.x[3]);
}

// A fragment of the 16 x 16 block at `at` of a row-major bf16 tile (pitch ld).
__device__ __forceinline__ FragA16 load_a(const __nv_bfloat16* at, int ld, int lane) {
  FragA16 a;
  ldsm_x4(a.x, at + (lane & 15) * ld + (lane >> 4) * 8);
  return a;
}
// A fragment of the transpose: A[m][k] = T[k][m] for the 16 x 16 block at `at`
// of a row-major tile T (rows k).
__device__ __forceinline__ FragA16 load_a_trans(const __nv_bfloat16* at, int ld, int lane) {
  FragA16 a;
  ldsm_x4_trans(a.x, at + ((lane & 7) + (lane >> 4) * 8) * ld + ((lane >> 3) & 1) * 8);
  return a;
}
// B (16 k x 16 n) from a tile stored n-major, T[n][k] (k contiguous), block at `at`.
__device__ __forceinline__ FragB2 load_b_nk(const __nv_bfloat16* at, int ld, int lane) {
  FragB2 b;
  ldsm_x4(b.x, at + ((lane & 7) + (lane >> 4) * 8) * ld + ((lane >> 3) & 1) * 8);
  return b;
}
// B (16 k x 16 n) from a tile stored k-major, T[k][n] (n contiguous), block at `at`.
__device__ __forceinline__ FragB2 load_b_kn(const __nv_bfloat16* at, int ld, int lane) {
  FragB2 b;
  ldsm_x4_trans(b.x, at + ((lane & 7) + ((lane >> 3) & 1) * 8) * ld + (lane >> 4) * 8);
  return b;
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  const __nv_bfloat162 p = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const uint32_t*>(&p);
}
__device__ __forceinline__ float2 unpack_bf16(uint32_t u) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&u));
}

// Both bf16 of a fragment register times w (a row weight), rounded to bf16.
__device__ __forceinline__ uint32_t scale_pair(uint32_t u, float w) {
  const float2 x = unpack_bf16(u);
  return pack_bf16(w * x.x, w * x.y);
}

// The two bf16 of a fragment register times their own weights (two rows of
// a B fragment, or two columns of an A fragment), rounded to bf16.
__device__ __forceinline__ uint32_t scale_pair2(uint32_t u, float w0, float w1) {
  const float2 x = unpack_bf16(u);
  return pack_bf16(w0 * x.x, w1 * x.y);
}

// The A fragment of columns 16 i .. 16 i + 15 from accumulator tiles lo = 2 i, hi = 2 i + 1.
__device__ __forceinline__ FragA16 a_from_acc(const Acc8& lo, const Acc8& hi) {
  FragA16 a;
  a.x[0] = pack_bf16(lo.x[0], lo.x[1]);
  a.x[1] = pack_bf16(lo.x[2], lo.x[3]);
  a.x[2] = pack_bf16(hi.x[0], hi.x[1]);
  a.x[3] = pack_bf16(hi.x[2], hi.x[3]);
  return a;
}

// ---- element-type generic helpers (v2_mma_tf32.cuh has the f32 / TF32
// overloads; the kernels are written once against these names) ----

// A fragment pair i is x[i] of FragA16 (two bf16); TF32 fragments hold the
// same pairs unpacked, so one kernel body serves both.
template <class E>
struct Frag;
template <>
struct Frag<__nv_bfloat16> {
  using A = FragA16;
  using B = FragB2;
};

__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void from_f(float x, __nv_bfloat16& out) { out = __float2bfloat16_rn(x); }
// Two consecutive elements at `at` (4-byte aligned).
__device__ __forceinline__ void store_pair(__nv_bfloat16* at, float lo, float hi) {
  *reinterpret_cast<uint32_t*>(at) = pack_bf16(lo, hi);
}

__device__ __forceinline__ void a_from_acc(FragA16& out, const Acc8& lo, const Acc8& hi) { out = a_from_acc(lo, hi); }

// Rows g and g + 8 of an A fragment times wA and wB.
__device__ __forceinline__ FragA16 scale_rows(const FragA16& a, float wA, float wB) {
  return FragA16{{scale_pair(a.x[0], wA), scale_pair(a.x[1], wB), scale_pair(a.x[2], wA), scale_pair(a.x[3], wB)}};
}
// Columns 2q, 2q + 1, 2q + 8, 2q + 9 of an A fragment times w0, w1, w8, w9.
__device__ __forceinline__ FragA16 scale_cols(const FragA16& a, float w0, float w1, float w8, float w9) {
  return FragA16{{scale_pair2(a.x[0], w0, w1), scale_pair2(a.x[1], w0, w1), scale_pair2(a.x[2], w8, w9),
                  scale_pair2(a.x[3], w8, w9)}};
}
// Rows (k) 2q, 2q + 1, 2q + 8, 2q + 9 of a B fragment pair times w0, w1, w8, w9.
__device__ __forceinline__ FragB2 scale_rows(const FragB2& b, float w0, float w1, float w8, float w9) {
  return FragB2{{scale_pair2(b.x[0], w0, w1), scale_pair2(b.x[1], w8, w9), scale_pair2(b.x[2], w0, w1),
                 scale_pair2(b.x[3], w8, w9)}};
}

// Accumulator tiles acc[0 .. N - 1] (16 x 8N) as bf16 to the row of lane
// group g at outA and the row g + 8 at outB (each the row's first element;
// a null row is skipped).
template <int N>
__device__ __forceinline__ void store_rows_bf16(const Acc8* acc, __nv_bfloat16* outA, __nv_bfloat16* outB, int lane) {
  const int c = 2 * (lane & 3);
#pragma unroll
  for (int x = 0; x < N; ++x) {
    if (outA) *reinterpret_cast<uint32_t*>(outA + 8 * x + c) = pack_bf16(acc[x].x[0], acc[x].x[1]);
    if (outB) *reinterpret_cast<uint32_t*>(outB + 8 * x + c) = pack_bf16(acc[x].x[2], acc[x].x[3]);
  }
}

template <int N>
__device__ __forceinline__ void store_rows(const Acc8* acc, __nv_bfloat16* outA, __nv_bfloat16* outB, int lane) {
  store_rows_bf16<N>(acc, outA, outB, lane);
}

// Sum over the 4 lanes of a quad (the lanes holding one accumulator row).
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  v += __shfl_xor_sync(0xffffffffu, v, 2);
  return v;
}

// Row dot products of the bf16 A fragments f[0 .. KK - 1] (16 rows x 16 KK
// columns) with the accumulator tiles c[0 .. 2 KK - 1] of the same rows and
// columns: added to this lane's parts a (row g) and b (row g + 8), which
// quad_sum then completes.
template <int KK>
__device__ __forceinline__ void add_row_dots(const FragA16 (&f)[KK], const Acc8* c, float& a, float& b) {
#pragma unroll
  for (int kk = 0; kk < KK; ++kk) {
    float2 u = unpack_bf16(f[kk].x[0]);
    a += u.x * c[2 * kk].x[0] + u.y * c[2 * kk].x[1];
    u = unpack_bf16(f[kk].x[1]);
    b += u.x * c[2 * kk].x[2] + u.y * c[2 * kk].x[3];
    u = unpack_bf16(f[kk].x[2]);
    a += u.x * c[2 * kk + 1].x[0] + u.y * c[2 * kk + 1].x[1];
    u = unpack_bf16(f[kk].x[3]);
    b += u.x * c[2 * kk + 1].x[2] + u.y * c[2 * kk + 1].x[3];
  }
}

}  // namespace
}  // namespace loglin::lla::v2

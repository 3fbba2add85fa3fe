// Device helpers shared by v2's forward and backward kernels
// (v2_forward_cuda.cu, v2_backward_cuda.cu): WMMA fragment types, the chunk
// slot convention and 16-byte tile loads. Included once per .cu file (an
// anonymous namespace, as chunk_cuda.cuh).
#pragma once
#include <mma.h>

#include "ops/log_linear_attention/chunk_cuda.cuh"

namespace loglin::lla::v2 {
namespace {

namespace wmma = nvcuda::wmma;
using bf = __nv_bfloat16;
using bf2 = __nv_bfloat162;

constexpr const char* kOp = "log_linear_attention (v2)";
constexpr int kC = 64;         // chunk
constexpr int kWarps = 4;      // warps per block of F1 / F3
constexpr int kBlock = 32 * kWarps;
constexpr int kPad = 8;        // bf16 pitch pad (pitch stays a multiple of 8 elements = 16 bytes)
constexpr int kFPad = 4;       // f32 pitch pad (multiple of 4 elements)
constexpr int kTreeThreads = 256;
constexpr int kMaxLevels = 48;  // Fenwick stack depth of F2 (chunks < 2^48)

constexpr size_t align128(size_t bytes) { return (bytes + 127) / 128 * 128; }

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf, wmma::row_major>;
using FragAc = wmma::fragment<wmma::matrix_a, 16, 16, 16, bf, wmma::col_major>;
using FragB = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf, wmma::row_major>;
using FragBc = wmma::fragment<wmma::matrix_b, 16, 16, 16, bf, wmma::col_major>;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

// rows r = 0 .. nrows - 1 of W bf16 each into dst (pitch ld elements) by
// 16-byte copies; src(r) is the row's first element (16-byte aligned) or null
// for a row of zeros. Every thread of the block takes part.
template <int W, class Src>
__device__ __forceinline__ void load_tile(bf* dst, int ld, int nrows, Src src) {
  static_assert(W % 8 == 0, "rows of whole 16-byte units");
  constexpr int U = W / 8;
  for (int e = threadIdx.x; e < nrows * U; e += blockDim.x) {
    const int r = e / U, u = e % U;
    const bf* s = src(r);
    uint4 x = make_uint4(0u, 0u, 0u, 0u);
    if (s) x = *reinterpret_cast<const uint4*>(s + u * 8);
    *reinterpret_cast<uint4*>(dst + r * ld + u * 8) = x;
  }
}

// Where a chunk job's rows are: slot r (0..63) is sequence row base + r,
// valid for lo <= r < hi.
struct ChunkSlots {
  int64_t base;
  int lo, hi;
  __device__ bool ok(int r) const { return r >= lo && r < hi; }
};
__device__ __forceinline__ ChunkSlots chunk_slots(const GpuSeq& s, int64_t n) {
  const int64_t r0 = gpu::first_row(s, n, kC), r1 = gpu::end_row(s, n, kC);
  ChunkSlots c;
  c.base = n * kC - s.pos;
  c.lo = static_cast<int>(r0 - c.base);
  c.hi = static_cast<int>(r1 - c.base);
  return c;
}

template <class Kern>
void allow_smem(Kern kernel, size_t bytes) {
  if (bytes > 48 * 1024)
    LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)),
                      kOp);
}

}  // namespace
}  // namespace loglin::lla::v2

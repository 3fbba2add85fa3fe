// What every loglin .cu file needs: the stream, launch checks, grid sizes and
// the device view of our element types. Kernel files include only this and
// their op's own headers (never core/tensor.h): the .cpp side unpacks
// tensors and calls plain launch functions, so nvcc never sees C++20 code.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/cuda_check.h"
#include "core/cuda_stream.h"
#include "core/dtype.h"
#include "core/host_device.h"
#include "core/strided_layout.h"

// After every launch: a bad configuration becomes an error naming the op.
#define LOGLIN_CUDA_LAUNCHED(op) LOGLIN_CUDA_CHECK(cudaGetLastError(), op)

namespace loglin::cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n items; capped so huge n reuses blocks.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<int64_t>(b, 1, int64_t{1} << 20));
}

// loglin::bf16 is layout-identical to __nv_bfloat16; kernels use the latter.
template <class T> struct device_type { using type = T; };
template <> struct device_type<bf16> { using type = __nv_bfloat16; };
template <class T> using device_t = typename device_type<T>::type;

// Loads and stores through f32 for bf16, as themselves otherwise: kernels
// templated on T compute in acc_t<T> (float for bf16).
template <class T> struct acc_type { using type = T; };
template <> struct acc_type<__nv_bfloat16> { using type = float; };
template <class T> using acc_t = typename acc_type<T>::type;

template <class T> __device__ __forceinline__ acc_t<T> load_acc(const T* p) { return static_cast<acc_t<T>>(*p); }
template <> __device__ __forceinline__ float load_acc<__nv_bfloat16>(const __nv_bfloat16* p) { return __bfloat162float(*p); }
template <class T, class A> __device__ __forceinline__ void store_from(T* p, A v) { *p = static_cast<T>(v); }
template <> __device__ __forceinline__ void store_from<__nv_bfloat16, float>(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16_rn(v);
}

// Up to this many dims in strided kernels (after merging contiguous dims).
constexpr int kMaxDims = 8;

// The element offsets of the i-th element (row-major over the shared shape)
// in N layouts that merged_layouts made for one iteration shape: the index is
// decomposed once for all of them. I is the index type: 32-bit division is
// several times cheaper than 64-bit, so launchers pick uint32_t when the
// element count fits (fits_32bit below); offsets are accumulated in 64 bits.
template <class I, int N>
__device__ __forceinline__ void offsets_of(I i, const StridedLayout* const (&ls)[N], int64_t (&off)[N]) {
#pragma unroll
  for (int k = 0; k < N; ++k) off[k] = 0;
  for (int d = ls[0]->ndim - 1; d >= 0; --d) {
    // The outermost dim needs no division: what is left is its index.
    I idx = i;
    if (d > 0) {
      const I extent = static_cast<I>(ls[0]->shape[d]);
      const I q = i / extent;
      idx = i - q * extent;
      i = q;
    }
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] += static_cast<int64_t>(idx) * ls[k]->strides[d];
  }
}

template <class I>
__device__ __forceinline__ int64_t offset_of(I i, const StridedLayout& l) {
  const StridedLayout* const ls[1] = {&l};
  int64_t off[1];
  offsets_of<I, 1>(i, ls, off);
  return off[0];
}

inline bool fits_32bit(int64_t v) { return v < (int64_t{1} << 31); }

// How a strided kernel may read an operand along the innermost dim of its
// merged layout in packs of n elements (the dim's extent a multiple of n):
// `broadcast` for stride 0 there (one element repeated), `packed` for stride
// 1 with the pointer and every outer stride on whole packs of pack_bytes
// alignment (vector loads and stores), `no` otherwise.
enum class InnerPacks { no, broadcast, packed };
inline InnerPacks inner_packs(const void* p, const StridedLayout& l, int n, size_t pack_bytes) {
  if (l.ndim == 0 || l.shape[l.ndim - 1] % n != 0) return InnerPacks::no;
  const int64_t inner = l.strides[l.ndim - 1];
  if (inner == 0) return InnerPacks::broadcast;
  if (inner != 1 || reinterpret_cast<uintptr_t>(p) % pack_bytes != 0) return InnerPacks::no;
  for (int d = 0; d + 1 < l.ndim; ++d)
    if (l.strides[d] % n != 0) return InnerPacks::no;
  return InnerPacks::packed;
}

}  // namespace loglin::cuda

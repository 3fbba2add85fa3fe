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

}  // namespace loglin::cuda

#include "core/cuda_copy.h"
#include "core/cuda_launch.cuh"

namespace loglin::cuda {
namespace {

__device__ __forceinline__ int64_t offset_of(int64_t i, const StridedLayout& l) {
  int64_t off = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t extent = l.shape[d];
    off += (i % extent) * l.strides[d];
    i /= extent;
  }
  return off;
}

template <class D, class S> __host__ __device__ __forceinline__ D convert(S v) {
  if constexpr (std::is_same_v<D, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<S, __nv_bfloat16>) {
    return static_cast<D>(__bfloat162float(v));
  } else {
    return static_cast<D>(v);
  }
}

template <class D, class S>
__global__ void copy_kernel(D* dst, StridedLayout dl, const S* src, StridedLayout sl, int64_t n, bool contiguous) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (contiguous) dst[i] = convert<D>(src[i]);
    else dst[offset_of(i, dl)] = convert<D>(src[offset_of(i, sl)]);
  }
}

template <class D>
__global__ void fill_kernel(D* dst, StridedLayout dl, D value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[offset_of(i, dl)] = value;
}

template <class T>
__global__ void accumulate_kernel(T* dst, const T* src, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    store_from(dst + i, load_acc(dst + i) + load_acc(src + i));
}

bool is_plain(const StridedLayout& l) { return l.ndim == 0 || (l.ndim == 1 && l.strides[0] == 1); }

template <class F> void with_device_type(DType t, F&& f) {
  switch (t) {
    case DType::f32: f(float{}); return;
    case DType::f64: f(double{}); return;
    case DType::bf16: f(__nv_bfloat16{}); return;
    case DType::i32: f(int32_t{}); return;
    case DType::i64: f(int64_t{}); return;
  }
}

}  // namespace

void copy_strided(void* dst, DType dst_dtype, const StridedLayout& dl, const void* src, DType src_dtype,
                  const StridedLayout& sl, int64_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  const bool contiguous = is_plain(dl) && is_plain(sl);
  with_device_type(dst_dtype, [&](auto d) {
    using D = decltype(d);
    with_device_type(src_dtype, [&](auto sv) {
      using S = decltype(sv);
      copy_kernel<D, S><<<blocks_for(n), kThreads, 0, s>>>(static_cast<D*>(dst), dl, static_cast<const S*>(src), sl,
                                                            n, contiguous);
    });
  });
  LOGLIN_CUDA_LAUNCHED("copy");
}

void fill(void* dst, DType dtype, const StridedLayout& dl, double value, int64_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  with_device_type(dtype, [&](auto d) {
    using D = decltype(d);
    fill_kernel<D><<<blocks_for(n), kThreads, 0, s>>>(static_cast<D*>(dst), dl, convert<D>(value), n);
  });
  LOGLIN_CUDA_LAUNCHED("fill");
}

void accumulate(void* dst, const void* src, DType dtype, int64_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  with_device_type(dtype, [&](auto d) {
    using D = decltype(d);
    if constexpr (std::is_floating_point_v<D> || std::is_same_v<D, __nv_bfloat16>)
      accumulate_kernel<D><<<blocks_for(n), kThreads, 0, s>>>(static_cast<D*>(dst), static_cast<const D*>(src), n);
    else
      LOGLIN_FAIL("[autograd] cannot sum gradients of dtype {}", dtype_name(dtype));
  });
  LOGLIN_CUDA_LAUNCHED("autograd gradient sum");
}

}  // namespace loglin::cuda

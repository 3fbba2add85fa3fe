#include "core/cuda_copy.h"
#include "core/cuda_launch.cuh"

namespace loglin::cuda {
namespace {

template <class D, class S> __host__ __device__ __forceinline__ D convert(S v) {
  if constexpr (std::is_same_v<D, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<S, __nv_bfloat16>) {
    return static_cast<D>(__bfloat162float(v));
  } else {
    return static_cast<D>(v);
  }
}

template <class D, class S, class I>
__global__ void copy_strided_kernel(D* dst, StridedLayout dl, const S* src, StridedLayout sl, I n) {
  for (I i = blockIdx.x * I(blockDim.x) + threadIdx.x; i < n; i += I(gridDim.x) * blockDim.x)
  {
    const StridedLayout* const ls[2] = {&dl, &sl};
    int64_t off[2];
    offsets_of<I, 2>(i, ls, off);
    dst[off[0]] = convert<D>(src[off[1]]);
  }
}

// Four elements per thread through aligned vector loads and stores (the
// launcher checks alignment), then the tail one by one.
template <class T> struct alignas(4 * sizeof(T)) Pack4 { T v[4]; };

template <class D, class S>
__global__ void copy_contiguous_kernel(D* dst, const S* src, int64_t n, bool packed) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t first_tail = 0;
  if (packed) {
    const int64_t packs = n / 4;
    for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < packs; p += stride) {
      const Pack4<S> in = reinterpret_cast<const Pack4<S>*>(src)[p];
      Pack4<D> out;
#pragma unroll
      for (int j = 0; j < 4; ++j) out.v[j] = convert<D>(in.v[j]);
      reinterpret_cast<Pack4<D>*>(dst)[p] = out;
    }
    first_tail = packs * 4;
  }
  for (int64_t i = first_tail + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride)
    dst[i] = convert<D>(src[i]);
}

// Strided copies whose innermost dim is contiguous in both tensors (a piece
// of a wider row, like a split()'s gradient window) or broadcast in the
// source: 4 elements per offset computation, vector loads and stores. The
// launcher checks that the inner extent and every outer stride are multiples
// of 4 and the pointers aligned, so no pack crosses a row or a boundary.
template <class D, class S, bool kSrcVec, class I>
__global__ void copy_inner_kernel(D* dst, StridedLayout dl, const S* src, StridedLayout sl, I packs) {
  for (I p = blockIdx.x * I(blockDim.x) + threadIdx.x; p < packs; p += I(gridDim.x) * blockDim.x) {
    const StridedLayout* const ls[2] = {&dl, &sl};
    int64_t off[2];
    offsets_of<I, 2>(p * 4, ls, off);
    Pack4<S> in;
    if constexpr (kSrcVec) in = *reinterpret_cast<const Pack4<S>*>(src + off[1]);
    else
#pragma unroll
      for (int j = 0; j < 4; ++j) in.v[j] = src[off[1]];
    Pack4<D> out;
#pragma unroll
    for (int j = 0; j < 4; ++j) out.v[j] = convert<D>(in.v[j]);
    *reinterpret_cast<Pack4<D>*>(dst + off[0]) = out;
  }
}

template <class T>
bool pack4_aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % sizeof(Pack4<T>) == 0;
}

template <class D>
__global__ void fill_kernel(D* dst, StridedLayout dl, D value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dst[offset_of<int64_t>(i, dl)] = value;
}

template <class T>
__global__ void add_kernel(T* out, const T* a, const T* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    store_from(out + i, load_acc(a + i) + load_acc(b + i));
}

// add_kernel four elements at a time (every pointer 4-element aligned), then the tail.
template <class T>
__global__ void add_packed_kernel(T* out, const T* a, const T* b, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t packs = n / 4;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < packs; p += stride) {
    const Pack4<T> x = reinterpret_cast<const Pack4<T>*>(a)[p], y = reinterpret_cast<const Pack4<T>*>(b)[p];
    Pack4<T> o;
#pragma unroll
    for (int j = 0; j < 4; ++j) store_from(&o.v[j], load_acc(&x.v[j]) + load_acc(&y.v[j]));
    reinterpret_cast<Pack4<T>*>(out)[p] = o;
  }
  for (int64_t i = packs * 4 + blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride)
    store_from(out + i, load_acc(a + i) + load_acc(b + i));
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
      if (contiguous) {
        const bool packed = reinterpret_cast<uintptr_t>(dst) % sizeof(Pack4<D>) == 0 &&
                            reinterpret_cast<uintptr_t>(src) % sizeof(Pack4<S>) == 0;
        copy_contiguous_kernel<D, S><<<blocks_for(packed ? (n + 3) / 4 : n), kThreads, 0, s>>>(
            static_cast<D*>(dst), static_cast<const S*>(src), n, packed);
      } else if (inner_packs(dst, dl, 4, sizeof(Pack4<D>)) == InnerPacks::packed &&
                 inner_packs(src, sl, 4, sizeof(Pack4<S>)) != InnerPacks::no) {
        auto go = [&](auto src_vec) {
          constexpr bool kVec = decltype(src_vec)::value;
          // p * 4 stays below 2^32 when n < 2^31 (a grid-stride step is at most 2^28 packs).
          if (fits_32bit(n))
            copy_inner_kernel<D, S, kVec, uint32_t><<<blocks_for(n / 4), kThreads, 0, s>>>(
                static_cast<D*>(dst), dl, static_cast<const S*>(src), sl, static_cast<uint32_t>(n / 4));
          else
            copy_inner_kernel<D, S, kVec, int64_t><<<blocks_for(n / 4), kThreads, 0, s>>>(
                static_cast<D*>(dst), dl, static_cast<const S*>(src), sl, n / 4);
        };
        if (sl.strides[sl.ndim - 1] == 1) go(std::true_type{});
        else go(std::false_type{});
      } else if (fits_32bit(n)) {
        copy_strided_kernel<D, S, uint32_t><<<blocks_for(n), kThreads, 0, s>>>(
            static_cast<D*>(dst), dl, static_cast<const S*>(src), sl, static_cast<uint32_t>(n));
      } else {
        copy_strided_kernel<D, S, int64_t><<<blocks_for(n), kThreads, 0, s>>>(static_cast<D*>(dst), dl,
                                                                              static_cast<const S*>(src), sl, n);
      }
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

void add(void* out, const void* a, const void* b, DType dtype, int64_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  with_device_type(dtype, [&](auto d) {
    using D = decltype(d);
    if constexpr (std::is_floating_point_v<D> || std::is_same_v<D, __nv_bfloat16>) {
      const bool packed = n >= 4 && pack4_aligned<D>(out) && pack4_aligned<D>(a) && pack4_aligned<D>(b);
      if (packed)
        add_packed_kernel<D><<<blocks_for(n / 4), kThreads, 0, s>>>(static_cast<D*>(out), static_cast<const D*>(a),
                                                                   static_cast<const D*>(b), n);
      else
        add_kernel<D><<<blocks_for(n), kThreads, 0, s>>>(static_cast<D*>(out), static_cast<const D*>(a),
                                                         static_cast<const D*>(b), n);
    } else
      LOGLIN_FAIL("[autograd] cannot sum gradients of dtype {}", dtype_name(dtype));
  });
  LOGLIN_CUDA_LAUNCHED("autograd gradient sum");
}

}  // namespace loglin::cuda

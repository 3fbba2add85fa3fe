// select_kernel: out[i] = cond ? a : b with numpy broadcasting of all three,
// a grid-stride loop over a new contiguous out. The strided offsets come from
// one walk over the merged dims; a fully contiguous case has one dim and
// needs no division.
#include "core/cuda_launch.cuh"
#include "ops/where/where_cuda.h"

namespace loglin::cuda {
namespace {

template <class C>
__device__ __forceinline__ bool truthy(C v) {
  if constexpr (std::is_same_v<C, __nv_bfloat16>) return __bfloat162float(v) != 0.0f;
  else return v != C(0);
}

template <class T>
__device__ __forceinline__ T side_value(const SelectSide<T>& s, int64_t off) {
  return s.data ? s.data[off] : s.fill;
}

// I is uint32_t when every index fits, because the divisions dominate.
template <class I, class C, class T>
__global__ void select_kernel(T* __restrict__ out, I n, const C* cond, StridedLayout lc, SelectSide<T> a,
                              SelectSide<T> b) {
  const I stride = static_cast<I>(gridDim.x) * blockDim.x;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const StridedLayout* const ls[3] = {&lc, &a.layout, &b.layout};
    int64_t off[3];
    offsets_of<I, 3>(i, ls, off);
    out[i] = truthy(cond[off[0]]) ? side_value(a, off[1]) : side_value(b, off[2]);
  }
}

template <class C, class T>
void launch(T* out, int64_t n, const C* cond, const StridedLayout& lc, const SelectSide<T>& a,
            const SelectSide<T>& b, cudaStream_t s) {
  // i + stride stays below 2^32 when n < 2^31 (stride is at most 2^28).
  if (n <= INT32_MAX)
    select_kernel<uint32_t><<<blocks_for(n), kThreads, 0, s>>>(out, static_cast<uint32_t>(n), cond, lc, a, b);
  else
    select_kernel<int64_t><<<blocks_for(n), kThreads, 0, s>>>(out, n, cond, lc, a, b);
}

}  // namespace

template <class T>
void where_select(T* out, int64_t n, const void* cond, DType cond_dtype, const StridedLayout& lc,
                  const SelectSide<T>& a, const SelectSide<T>& b, const char* name, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  switch (cond_dtype) {
    case DType::f32: launch(out, n, static_cast<const float*>(cond), lc, a, b, s); break;
    case DType::f64: launch(out, n, static_cast<const double*>(cond), lc, a, b, s); break;
    case DType::bf16: launch(out, n, static_cast<const __nv_bfloat16*>(cond), lc, a, b, s); break;
    case DType::i32: launch(out, n, static_cast<const int32_t*>(cond), lc, a, b, s); break;
    case DType::i64: launch(out, n, static_cast<const int64_t*>(cond), lc, a, b, s); break;
  }
  LOGLIN_CUDA_LAUNCHED(name);
}

template void where_select<float>(float*, int64_t, const void*, DType, const StridedLayout&, const SelectSide<float>&,
                                  const SelectSide<float>&, const char*, int);
template void where_select<double>(double*, int64_t, const void*, DType, const StridedLayout&,
                                   const SelectSide<double>&, const SelectSide<double>&, const char*, int);

}  // namespace loglin::cuda

// swiglu on CUDA: grid-stride loops over 16-byte packs (4 floats, 2
// doubles) when every pointer is aligned, then a scalar tail. Memory-bound:
// the forward reads a and b and writes out; the backward reads a, b and g
// and writes da and db in the same pass.
#include "core/cuda_launch.cuh"
#include "ops/swiglu/swiglu_cuda.h"
#include "ops/swiglu/swiglu_math.h"

namespace loglin::cuda {
namespace {

template <class T>
constexpr int kPack = 16 / static_cast<int>(sizeof(T));

template <class T>
struct alignas(16) Pack {
  T v[kPack<T>];
};

bool aligned16(const void* p) { return p == nullptr || reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <class T, bool kPacked>
__global__ void swiglu_fwd_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out, int64_t n) {
  constexpr int N = kPacked ? kPack<T> : 1;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = n / N;
  if constexpr (kPacked) {
    for (int64_t p = tid; p < packs; p += stride) {
      const Pack<T> x = reinterpret_cast<const Pack<T>*>(a)[p], y = reinterpret_cast<const Pack<T>*>(b)[p];
      Pack<T> o;
#pragma unroll
      for (int j = 0; j < N; ++j) o.v[j] = swiglu_math::forward(x.v[j], y.v[j]);
      reinterpret_cast<Pack<T>*>(out)[p] = o;
    }
  }
  for (int64_t i = (kPacked ? packs * N : 0) + tid; i < n; i += stride) out[i] = swiglu_math::forward(a[i], b[i]);
}

template <class T, bool kPacked>
__global__ void swiglu_bwd_kernel(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ g,
                                  T* __restrict__ da, T* __restrict__ db, int64_t n) {
  constexpr int N = kPacked ? kPack<T> : 1;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = n / N;
  if constexpr (kPacked) {
    for (int64_t p = tid; p < packs; p += stride) {
      const Pack<T> x = reinterpret_cast<const Pack<T>*>(a)[p], y = reinterpret_cast<const Pack<T>*>(b)[p],
                    z = reinterpret_cast<const Pack<T>*>(g)[p];
      Pack<T> ga, gb;
#pragma unroll
      for (int j = 0; j < N; ++j) swiglu_math::backward(x.v[j], y.v[j], z.v[j], ga.v[j], gb.v[j]);
      if (da) reinterpret_cast<Pack<T>*>(da)[p] = ga;
      if (db) reinterpret_cast<Pack<T>*>(db)[p] = gb;
    }
  }
  for (int64_t i = (kPacked ? packs * N : 0) + tid; i < n; i += stride) {
    T ga, gb;
    swiglu_math::backward(a[i], b[i], g[i], ga, gb);
    if (da) da[i] = ga;
    if (db) db[i] = gb;
  }
}

}  // namespace

template <class T>
void swiglu_fwd(const T* a, const T* b, T* out, int64_t n, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  if (aligned16(a) && aligned16(b) && aligned16(out))
    swiglu_fwd_kernel<T, true><<<blocks_for((n + kPack<T> - 1) / kPack<T>), kThreads, 0, s>>>(a, b, out, n);
  else
    swiglu_fwd_kernel<T, false><<<blocks_for(n), kThreads, 0, s>>>(a, b, out, n);
  LOGLIN_CUDA_LAUNCHED("swiglu");
}

template <class T>
void swiglu_bwd(const T* a, const T* b, const T* g, T* da, T* db, int64_t n, int device) {
  if (n == 0 || (!da && !db)) return;
  cudaStream_t s = stream(device);
  if (aligned16(a) && aligned16(b) && aligned16(g) && aligned16(da) && aligned16(db))
    swiglu_bwd_kernel<T, true><<<blocks_for((n + kPack<T> - 1) / kPack<T>), kThreads, 0, s>>>(a, b, g, da, db, n);
  else
    swiglu_bwd_kernel<T, false><<<blocks_for(n), kThreads, 0, s>>>(a, b, g, da, db, n);
  LOGLIN_CUDA_LAUNCHED("swiglu backward");
}

template void swiglu_fwd<float>(const float*, const float*, float*, int64_t, int);
template void swiglu_fwd<double>(const double*, const double*, double*, int64_t, int);
template void swiglu_bwd<float>(const float*, const float*, const float*, float*, float*, int64_t, int);
template void swiglu_bwd<double>(const double*, const double*, const double*, double*, double*, int64_t, int);

}  // namespace loglin::cuda

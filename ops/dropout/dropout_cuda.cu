// dropout_apply_kernel: a grid-stride loop where each element hashes its own
// index with the call's seed (dropout_math.h), so no mask is stored and the
// backward recomputes it.
#include "core/cuda_launch.cuh"
#include "ops/dropout/dropout_cuda.h"

namespace loglin::cuda {
namespace {

template <class T>
__global__ void dropout_apply_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t n, dropout_rng::Mask mask) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = mask.apply(x[i], static_cast<uint64_t>(i));
}

}  // namespace

template <class T>
void dropout_apply(const T* x, T* out, int64_t n, const dropout_rng::Mask& mask, int device) {
  if (n == 0) return;
  dropout_apply_kernel<<<blocks_for(n), kThreads, 0, stream(device)>>>(x, out, n, mask);
  LOGLIN_CUDA_LAUNCHED("dropout");
}

template void dropout_apply<float>(const float*, float*, int64_t, const dropout_rng::Mask&, int);
template void dropout_apply<double>(const double*, double*, int64_t, const dropout_rng::Mask&, int);

}  // namespace loglin::cuda

// log_linear_attention_step on CUDA (step.cpp's step_head):
//   1. one thread per (sequence, head, K x V element) moves the element of
//      every level: merge levels 0..k into k + 1 (k = trailing ones of the
//      last position), decay by exp(g), add k v^T to level 0;
//   2. one thread per (sequence, head, output column) reads the new levels:
//      o = sum_l lambda[l] q^T S[l].
#include "core/cuda_launch.cuh"
#include "ops/log_linear_attention/cuda/recurrent_step_cuda.h"

namespace loglin::lla {
namespace {

constexpr const char* kOp = "log_linear_attention";

template <class T>
__global__ void step_levels_kernel(const T* k, const T* v, const T* g, const T* S_in, T* S_out,
                                   const int64_t* positions, int64_t N, int64_t H, int64_t G, int64_t L, int64_t K,
                                   int64_t V) {
  const int64_t KV = K * V, total = N * H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t job = idx / KV, e = idx % KV, n = job / H, h = job % H, x = e / V, y = e % V;
    const int64_t grp = h / (H / G), pos = positions[n];
    // Levels 0..trailing merge into trailing + 1 (none when pos == 0).
    const int trailing = pos > 0 ? __ffsll(static_cast<long long>(~(pos - 1))) - 1 : -1;
    const T decay = static_cast<T>(exp(static_cast<double>(g[job])));
    const T* in = S_in + job * L * KV + e;
    T* out = S_out + job * L * KV + e;
    T merged = trailing >= 0 ? in[(trailing + 1) * KV] : T(0);
    for (int l = 0; l <= trailing; ++l) merged += in[l * KV];
    for (int64_t l = 0; l < L; ++l) {
      T s = l <= trailing ? T(0) : (l == trailing + 1 ? merged : in[l * KV]);
      s *= decay;
      if (l == 0) s += k[(n * G + grp) * K + x] * v[job * V + y];
      out[l * KV] = s;
    }
  }
}

template <class T>
__global__ void step_output_kernel(const T* q, const T* ls, const T* S, T* o, int64_t N, int64_t H, int64_t G,
                                   int64_t L, int64_t K, int64_t V) {
  const int64_t total = N * H * V;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t job = idx / V, y = idx % V, n = job / H, h = job % H;
    const T* qn = q + (n * G + h / (H / G)) * K;
    T acc = 0;
    for (int64_t l = 0; l < L; ++l) {
      const T* Sl = S + (job * L + l) * K * V;
      const T lam = ls[job * L + l];
      for (int64_t x = 0; x < K; ++x) acc += (lam * qn[x]) * Sl[x * V + y];
    }
    o[idx] = acc;
  }
}

}  // namespace

template <class T>
void log_linear_attention_step_cuda(const T* q, const T* k, const T* v, const T* g, const T* ls, const T* levels_in,
                                    T* levels_out, T* o, const int64_t* positions, int64_t N, int64_t H, int64_t G,
                                    int64_t L, int64_t K, int64_t V, int device) {
  cudaStream_t st = cuda::stream(device);
  step_levels_kernel<T><<<cuda::blocks_for(N * H * K * V), cuda::kThreads, 0, st>>>(k, v, g, levels_in, levels_out,
                                                                                  positions, N, H, G, L, K, V);
  LOGLIN_CUDA_LAUNCHED(kOp);
  step_output_kernel<T><<<cuda::blocks_for(N * H * V), cuda::kThreads, 0, st>>>(q, ls, levels_out, o, N, H, G, L, K,
                                                                              V);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template void log_linear_attention_step_cuda<float>(const float*, const float*, const float*, const float*,
                                                    const float*, const float*, float*, float*, const int64_t*,
                                                    int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int);
template void log_linear_attention_step_cuda<double>(const double*, const double*, const double*, const double*,
                                                     const double*, const double*, double*, double*,
                                                     const int64_t*, int64_t, int64_t, int64_t, int64_t, int64_t,
                                                     int64_t, int);

}  // namespace loglin::lla

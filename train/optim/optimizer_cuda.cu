// Each kernel runs one block per chunk (at most kChunkElems elements, so the
// loop index fits an int), its threads striding through the chunk.
#include "core/cuda_launch.cuh"
#include "core/cuda_memory.h"
#include "train/optim/optimizer_cuda.h"

namespace loglin::cuda {
namespace {

// Chunks per launch stay below the grid limit in x.
unsigned grid_for(int64_t n_chunks, const char* op) {
  LOGLIN_CHECK(n_chunks > 0 && n_chunks <= 0x7fffffff, "[{}] {} chunks is out of range for one launch", op, n_chunks);
  return static_cast<unsigned>(n_chunks);
}

// Explicitly rounded operations: the result does not depend on which
// products nvcc chooses to fuse into FMAs.
__global__ void adamw_step_kernel(const ParamChunk* __restrict__ table, AdamWStep s) {
  const ParamChunk c = table[blockIdx.x];
  const float decay = static_cast<float>(__dsub_rn(1.0, __dmul_rn(s.lr, c.weight_decay)));
  const float one_minus_b1 = __fsub_rn(1.0f, s.beta1), one_minus_b2 = __fsub_rn(1.0f, s.beta2);
  const int n = static_cast<int>(c.n);
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const float g = c.grad[i];
    const float m = __fadd_rn(__fmul_rn(s.beta1, c.state0[i]), __fmul_rn(one_minus_b1, g));
    const float v = __fadd_rn(__fmul_rn(s.beta2, c.state1[i]), __fmul_rn(__fmul_rn(one_minus_b2, g), g));
    const float denom = __fadd_rn(__fmul_rn(__fsqrt_rn(v), s.inv_sqrt_bc2), s.eps);
    c.state0[i] = m;
    c.state1[i] = v;
    c.param[i] = __fsub_rn(__fmul_rn(c.param[i], decay), __fdiv_rn(__fmul_rn(s.step_size, m), denom));
  }
}

__global__ void sgd_step_kernel(const ParamChunk* __restrict__ table, double lr, float momentum) {
  const ParamChunk c = table[blockIdx.x];
  const float decay = static_cast<float>(__dsub_rn(1.0, __dmul_rn(lr, c.weight_decay)));
  const float flr = static_cast<float>(lr);
  const int n = static_cast<int>(c.n);
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const float b = __fadd_rn(__fmul_rn(momentum, c.state0[i]), c.grad[i]);
    c.state0[i] = b;
    c.param[i] = __fsub_rn(__fmul_rn(c.param[i], decay), __fmul_rn(flr, b));
  }
}

// The sum of v over the block, valid in thread 0. blockDim.x must be a
// multiple of 32 (every launch here uses kThreads); called once per kernel.
__device__ double block_sum(double v) {
  __shared__ double warp_sums[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  if (lane == 0) warp_sums[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int n_warps = static_cast<int>(blockDim.x >> 5);
    v = lane < n_warps ? warp_sums[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  }
  return v;
}

__global__ void grad_sumsq_kernel(const ParamChunk* __restrict__ table, double* __restrict__ partials) {
  const ParamChunk c = table[blockIdx.x];
  const int n = static_cast<int>(c.n);
  double acc = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const double g = c.grad[i];
    acc += g * g;  // exact in f64 (a float's square has 48 bits), as on the CPU
  }
  acc = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// One block adds the partials in a fixed order: the norm is the same every run.
__global__ void sum_partials_kernel(const double* __restrict__ partials, int64_t n, double* __restrict__ out) {
  double acc = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += partials[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) *out = acc;
}

__global__ void scale_grads_kernel(const ParamChunk* __restrict__ table, float scale) {
  const ParamChunk c = table[blockIdx.x];
  const int n = static_cast<int>(c.n);
  for (int i = threadIdx.x; i < n; i += blockDim.x) c.grad[i] = __fmul_rn(c.grad[i], scale);
}

// Scratch device memory, returned to the caching allocator on every exit path.
struct DeviceScratch {
  void* p;
  size_t bytes;
  int device;
  DeviceScratch(size_t b, int d) : p(cuda::allocate(b, d)), bytes(b), device(d) {}
  ~DeviceScratch() { cuda::free(p, bytes, device); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
};

}  // namespace

void adamw_step(const ParamChunk* table, int64_t n_chunks, const AdamWStep& s, int device) {
  const unsigned grid = grid_for(n_chunks, "AdamW");
  adamw_step_kernel<<<grid, kThreads, 0, stream(device)>>>(table, s);
  LOGLIN_CUDA_LAUNCHED("AdamW");
}

void sgd_step(const ParamChunk* table, int64_t n_chunks, double lr, float momentum, int device) {
  const unsigned grid = grid_for(n_chunks, "SGD");
  sgd_step_kernel<<<grid, kThreads, 0, stream(device)>>>(table, lr, momentum);
  LOGLIN_CUDA_LAUNCHED("SGD");
}

double grad_sum_of_squares(const ParamChunk* table, int64_t n_chunks, int device) {
  const unsigned grid = grid_for(n_chunks, "clip_grad_norm");
  cudaStream_t s = stream(device);
  // partials[0, n_chunks) then the total.
  DeviceScratch scratch(static_cast<size_t>(n_chunks + 1) * sizeof(double), device);
  double* partials = static_cast<double*>(scratch.p);
  grad_sumsq_kernel<<<grid, kThreads, 0, s>>>(table, partials);
  LOGLIN_CUDA_LAUNCHED("clip_grad_norm");
  sum_partials_kernel<<<1, kThreads, 0, s>>>(partials, n_chunks, partials + n_chunks);
  LOGLIN_CUDA_LAUNCHED("clip_grad_norm");
  double total = 0;
  copy_device_to_host(&total, partials + n_chunks, sizeof(double), device);  // waits
  return total;
}

void scale_grads(const ParamChunk* table, int64_t n_chunks, float scale, int device) {
  const unsigned grid = grid_for(n_chunks, "clip_grad_norm");
  scale_grads_kernel<<<grid, kThreads, 0, stream(device)>>>(table, scale);
  LOGLIN_CUDA_LAUNCHED("clip_grad_norm");
}

}  // namespace loglin::cuda

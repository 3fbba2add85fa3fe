// scalar_decay_attention on CUDA, the interim path: the CPU's chunked scan
// as SIMT kernels, f32 and f64. Forward:
//   1. G per row (block scan in double);
//   2. per-chunk states K_n^T diag(exp(G_e - G_i)) V_n, one block per chunk
//      and head;
//   3. the scan over chunks, one thread per (sequence, head, K x V element):
//      each chunk's slot becomes the state before it;
//   4. chunk outputs: intra-chunk scores in shared memory plus the queries
//      times the state before the chunk (the log-linear forward kernel with
//      lambda == 1).
// Backward: rebuild 1-3, the query side (dq), the per-chunk read gradients
// (diag(e) Q_n)^T dO_n, a reverse scan that turns them into each chunk's dU,
// the key side (dk, dv), dg by the dG identity, and the head -> group sums.
#include "ops/log_linear_attention/cuda/chunk_cuda.cuh"
#include "ops/scalar_decay_attention/scalar_decay_attention_cuda.h"

namespace loglin::lla {
namespace gpu {
namespace {

constexpr const char* kOp = "scalar_decay_attention";

__device__ __forceinline__ double G_before(const double* Gd, const GpuProblem& p, const GpuSeq& s, int64_t h,
                                           int64_t r0) {
  return r0 > 0 ? G_at(Gd, p, s, h, r0 - 1) : 0.0;
}

// In place over the job slots of each (sequence, head, element): slot n holds
// U(n) (n < n1) on entry and S_n, the state before chunk n, on exit:
// S_{n0} = 0, S_{n+1} = exp(G_e - G_b) S_n + U(n).
template <class T>
__global__ void state_scan_kernel(GpuProblem p, const double* Gd, T* states) {
  const int64_t KV = p.K * p.V, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t seq = idx / (p.H * KV), h = (idx / KV) % p.H, e = idx % KV;
    const GpuSeq s = p.seqs[seq];
    T carry = 0;
    for (int64_t n = s.n0; n <= s.n1; ++n) {
      T* slot = states + ((s.job_off + n - s.n0) * p.H + h) * KV + e;
      const T u = n < s.n1 ? *slot : T(0);
      *slot = carry;
      if (n < s.n1) {
        const int64_t r0 = first_row(s, n, p.C), r1 = end_row(s, n, p.C);
        carry = exp_t<T>(G_at(Gd, p, s, h, r1 - 1) - G_before(Gd, p, s, h, r0)) * carry + u;
      }
    }
  }
}

// In place, reverse: slot n holds the read gradient (diag(e) Q_n)^T dO_n
// (n > n0) on entry and dU(n), the gradient of the state after chunk n
// (n < n1), on exit.
template <class T>
__global__ void dstate_scan_kernel(GpuProblem p, const double* Gd, T* dstates) {
  const int64_t KV = p.K * p.V, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t seq = idx / (p.H * KV), h = (idx / KV) % p.H, e = idx % KV;
    const GpuSeq s = p.seqs[seq];
    T acc = 0;
    for (int64_t n = s.n1; n >= s.n0; --n) {
      T* slot = dstates + ((s.job_off + n - s.n0) * p.H + h) * KV + e;
      const T r = n > s.n0 ? *slot : T(0);
      if (n < s.n1) {
        *slot = acc;
        const int64_t r0 = first_row(s, n, p.C), r1 = end_row(s, n, p.C);
        acc *= exp_t<T>(G_at(Gd, p, s, h, r1 - 1) - G_before(Gd, p, s, h, r0));
      }
      acc += r;
    }
  }
}

template <class T>
void build_states(const GpuProblem& p, const GpuForward<T>& f, cudaStream_t st) {
  const int64_t KV = p.K * p.V;
  cumdecay_kernel<T><<<dim3(static_cast<unsigned>(p.n_seqs), static_cast<unsigned>(p.H)), kThreads, 0, st>>>(
      p, f.g, f.Gd);
  LOGLIN_CUDA_LAUNCHED(kOp);
  chunk_outer_kernel<T><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(KV, kThreads)),
                          kThreads, 0, st>>>(p, f.k, f.v, f.Gd, f.nodes, OuterMode::state, false);
  LOGLIN_CUDA_LAUNCHED(kOp);
  state_scan_kernel<T><<<cuda::blocks_for(p.n_seqs * p.H * KV), kThreads, 0, st>>>(p, f.Gd, f.nodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

}  // namespace
}  // namespace gpu

template <class T>
void scalar_decay_forward_cuda(const GpuProblem& p, const GpuForward<T>& f) {
  using namespace gpu;
  const int tq = tile_rows(p.C, sizeof(T), 1, kOp);
  cudaStream_t st = cuda::stream(p.device);
  build_states(p, f, st);
  const size_t smem = static_cast<size_t>(tq) * p.C * sizeof(T);
  chunk_forward_kernel<T><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(p.C, tq)),
                            kThreads, smem, st>>>(p, f, tq);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <class T>
void scalar_decay_backward_cuda(const GpuProblem& p, const GpuBackward<T>& b) {
  using namespace gpu;
  const int tq = tile_rows(p.C, sizeof(T), 2, kOp);
  const int64_t KV = p.K * p.V;
  const size_t smem = 2 * static_cast<size_t>(tq) * p.C * sizeof(T);
  cudaStream_t st = cuda::stream(p.device);
  build_states(p, b.fwd, st);
  const dim3 chunk_grid(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(p.C, tq));
  chunk_bwd_rows_kernel<T><<<chunk_grid, kThreads, smem, st>>>(p, b, tq);
  LOGLIN_CUDA_LAUNCHED(kOp);
  chunk_outer_kernel<T><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(KV, kThreads)),
                          kThreads, 0, st>>>(p, b.fwd.q, b.dout, b.fwd.Gd, b.dnodes, OuterMode::read_grad, false);
  LOGLIN_CUDA_LAUNCHED(kOp);
  dstate_scan_kernel<T><<<cuda::blocks_for(p.n_seqs * p.H * KV), kThreads, 0, st>>>(p, b.fwd.Gd, b.dnodes);
  LOGLIN_CUDA_LAUNCHED(kOp);
  chunk_bwd_cols_kernel<T><<<chunk_grid, kThreads, smem, st>>>(p, b, tq);
  LOGLIN_CUDA_LAUNCHED(kOp);
  finish_backward(p, b, st, kOp);
}

template void scalar_decay_forward_cuda<float>(const GpuProblem&, const GpuForward<float>&);
template void scalar_decay_forward_cuda<double>(const GpuProblem&, const GpuForward<double>&);
template void scalar_decay_backward_cuda<float>(const GpuProblem&, const GpuBackward<float>&);
template void scalar_decay_backward_cuda<double>(const GpuProblem&, const GpuBackward<double>&);

}  // namespace loglin::lla

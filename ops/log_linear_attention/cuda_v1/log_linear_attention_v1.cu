// log_linear_attention on CUDA, the interim path: the chunked CPU algorithm
// (chunk_forward_cpu.cpp, chunk_backward_cpu.cpp) as straightforward SIMT
// kernels, f32 and f64. Forward:
//   1. G per row (one block per sequence and head, a block scan in double);
//   2. per-chunk states U(m) (tree level 0), one block per chunk and head;
//   3. tree combines, one thread per (sequence, head, K x V element) walking
//      the levels (each element only depends on the same element below);
//   4. chunk outputs: intra-chunk scores in shared memory, then the node
//      reads and the initial state, one block per chunk, head and row tile;
//   5. the final state, one thread per (sequence, head, element).
// Backward: the same workspace rebuilt, then the query side (dq, dlambda),
// node gradients, the transposed tree, the key side (dk, dv), the initial
// state's gradient, dg by the dG identity, and the head -> group sums.
#include "ops/log_linear_attention/cuda/chunk_cuda.cuh"
#include "ops/log_linear_attention/cuda_v1/log_linear_attention_v1.h"

namespace loglin::lla {
namespace gpu {
namespace {

constexpr const char* kOp = "log_linear_attention";

// Level j >= 1 of the tree from level j - 1, element e of each node:
// parent = exp(G_end(right) - G_end(left)) * left + right.
template <class T>
__global__ void tree_combine_kernel(GpuProblem p, const double* Gd, T* nodes) {
  const int64_t KV = p.K * p.V, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t seq = idx / (p.H * KV), h = (idx / KV) % p.H, e = idx % KV;
    const GpuSeq s = p.seqs[seq];
    const int levels = tree_levels(s);
    for (int j = 1; j < levels; ++j) {
      for (int64_t a = s.n0 >> j; a < (s.n1 >> j); ++a) {
        const int64_t left = 2 * a, right = 2 * a + 1;
        T x = nodes[(node_index(s, j - 1, right) * p.H + h) * KV + e];
        if (left >= (s.n0 >> (j - 1))) {
          const double decay = G_at(Gd, p, s, h, node_last_row(s, j - 1, right, p.C)) -
                               G_at(Gd, p, s, h, node_last_row(s, j - 1, left, p.C));
          x += exp_t<T>(decay) * nodes[(node_index(s, j - 1, left) * p.H + h) * KV + e];
        }
        nodes[(node_index(s, j, a) * p.H + h) * KV + e] = x;
      }
    }
  }
}

// P[m] = S[0] + ... + S[m] of the initial state, per (sequence, head, element).
template <class T>
__global__ void state_prefix_kernel(GpuProblem p, const T* state, T* prefix) {
  const int64_t KV = p.K * p.V, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t sh = idx / KV, e = idx % KV, off = sh * p.L * KV + e;
    T acc = 0;
    for (int64_t l = 0; l < p.L; ++l) {
      acc += state[off + l * KV];
      prefix[off + l * KV] = acc;
    }
  }
}

// The final state (final_state() on the cpu), element e of every level of
// one (sequence, head) per thread: the initial levels moved to
// max(level(c', pos - 1), l), the last chunk's rows by level, the nodes
// chunk n1 reads; all decayed to the last row c'.
template <class T>
__global__ void final_state_kernel(GpuProblem p, GpuForward<T> f) {
  const int64_t K = p.K, V = p.V, KV = K * V, L = p.L, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t seq = idx / (p.H * KV), h = (idx / KV) % p.H, e = idx % KV, x = e / V, y = e % V;
    const GpuSeq s = p.seqs[seq];
    const HeadRows<T> hr = head_rows(p, s, h, f.q, f.k, f.v, f.ls);
    const int64_t off = (seq * p.H + h) * L * KV + e, last = s.len - 1, c_abs = s.pos + last;
    T* F = f.state_out + off;
    for (int64_t l = 0; l < L; ++l) F[l * KV] = T(0);
    const double Gl = G_at(f.Gd, p, s, h, last);
    if (f.state_in && s.pos > 0) {
      const int64_t M = level_of(c_abs, s.pos - 1);
      const T w = exp_t<T>(Gl);
      for (int64_t l = 0; l < L; ++l) F[(l > M ? l : M) * KV] += w * f.state_in[off + l * KV];
    }
    for (int64_t i = first_row(s, s.n1, p.C); i < s.len; ++i) {
      const int m = level_of(s.pos + i, c_abs);
      F[m * KV] += (hr.kr(i)[x] * exp_t<T>(Gl - G_at(f.Gd, p, s, h, i))) * hr.vr(i)[y];
    }
    for (int jb = 0; (s.n1 >> jb) != 0; ++jb) {
      if (!reads_node(s, s.n1, jb)) continue;
      const int64_t a = (s.n1 >> jb) - 1;
      const double Ge = G_at(f.Gd, p, s, h, node_last_row(s, jb, a, p.C));
      F[(p.c + jb + 1) * KV] += exp_t<T>(Gl - Ge) * f.nodes[(node_index(s, jb, a) * p.H + h) * KV + e];
    }
  }
}

// Node gradients dR(j, a) = sum over the chunks that read the node of
// (w Q_n)^T dO_n, w_i = lambda_i[c+j+1] exp(G_i - G_end), plus the final
// state's gradient when chunk n1 reads it. One block per (node, head, K*V
// slice). Node (j, a) is read by the chunks n with n >> j == a + 1 when that
// is odd: one contiguous run of rows.
template <class T>
__global__ void node_grad_kernel(GpuProblem p, GpuBackward<T> b) {
  const GpuForward<T>& f = b.fwd;
  const GpuNode nd = p.nodes[blockIdx.x];
  const GpuSeq s = p.seqs[nd.seq];
  const int j = static_cast<int>(nd.j);
  const int64_t a = nd.a, h = blockIdx.y, KV = p.K * p.V;
  const int64_t e = blockIdx.z * int64_t(blockDim.x) + threadIdx.x, x = e / p.V, y = e % p.V;
  const HeadRows<T> hr = head_rows(p, s, h, f.q, f.k, f.v, f.ls);
  const T* dO = b.dout + s.row0 * p.H * p.V + h * p.V;
  const int64_t sv = p.H * p.V;
  const double Ge = G_at(f.Gd, p, s, h, node_last_row(s, j, a, p.C));
  const int lev = p.c + j + 1;
  __shared__ T w[kThreads];
  T acc = 0;
  if ((a & 1) == 0) {
    const int64_t nlo = imax(s.n0, (a + 1) << j), nhi = imin(s.n1, ((a + 2) << j) - 1);
    const int64_t r0 = nlo <= nhi ? first_row(s, nlo, p.C) : 0, r1 = nlo <= nhi ? end_row(s, nhi, p.C) : 0;
    for (int64_t t0 = r0; t0 < r1; t0 += blockDim.x) {
      const int64_t nt = imin(blockDim.x, r1 - t0);
      if (threadIdx.x < nt) {
        const int64_t i = t0 + threadIdx.x;
        w[threadIdx.x] = hr.lam(i, lev) * exp_t<T>(G_at(f.Gd, p, s, h, i) - Ge);
      }
      __syncthreads();
      if (e < KV)
        for (int64_t t = 0; t < nt; ++t) acc += (w[t] * hr.qr(t0 + t)[x]) * dO[(t0 + t) * sv + y];
      __syncthreads();
    }
  }
  if (e >= KV) return;
  if (b.dstate_out && ((s.n1 >> j) & 1) && (s.n1 >> j) - 1 == a) {
    const double Gl = G_at(f.Gd, p, s, h, s.len - 1);
    acc += exp_t<T>(Gl - Ge) * b.dstate_out[((nd.seq * p.H + h) * p.L + lev) * KV + e];
  }
  b.dnodes[(int64_t(blockIdx.x) * p.H + h) * KV + e] = acc;
}

// The transposed tree: each node's gradient goes to its right child as is
// and to its left child times the combine's decay, top level first.
template <class T>
__global__ void push_down_kernel(GpuProblem p, const double* Gd, T* dnodes) {
  const int64_t KV = p.K * p.V, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t seq = idx / (p.H * KV), h = (idx / KV) % p.H, e = idx % KV;
    const GpuSeq s = p.seqs[seq];
    for (int j = tree_levels(s) - 1; j >= 1; --j) {
      for (int64_t a = s.n0 >> j; a < (s.n1 >> j); ++a) {
        const T d = dnodes[(node_index(s, j, a) * p.H + h) * KV + e];
        const int64_t left = 2 * a, right = 2 * a + 1;
        dnodes[(node_index(s, j - 1, right) * p.H + h) * KV + e] += d;
        if (left >= (s.n0 >> (j - 1))) {
          const double decay = G_at(Gd, p, s, h, node_last_row(s, j - 1, right, p.C)) -
                               G_at(Gd, p, s, h, node_last_row(s, j - 1, left, p.C));
          dnodes[(node_index(s, j - 1, left) * p.H + h) * KV + e] += exp_t<T>(decay) * d;
        }
      }
    }
  }
}

// Gradient of the initial levels, element e of one (sequence, head) per
// thread. Row i reads P[m_i] (m_i = level(pos + i, pos - 1)) and S[l] for
// l > m_i, each with weight lambda_i[.] exp(G_i); the final state adds
// exp(G_last) dF[max(M, l)] to S[l]. d levels[l] = dS[l] + sum_{m >= l} dP[m]
// (dP accumulates in the output, dS in dscratch).
template <class T>
__global__ void dstate_in_kernel(GpuProblem p, GpuBackward<T> b) {
  const GpuForward<T>& f = b.fwd;
  const int64_t K = p.K, V = p.V, KV = K * V, L = p.L, total = p.n_seqs * p.H * KV;
  for (int64_t idx = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; idx < total;
       idx += int64_t(gridDim.x) * blockDim.x) {
    const int64_t seq = idx / (p.H * KV), h = (idx / KV) % p.H, e = idx % KV, x = e / V, y = e % V;
    const GpuSeq s = p.seqs[seq];
    const int64_t off = (seq * p.H + h) * L * KV + e;
    T* out = b.dstate_in + off;
    T* dS = b.dscratch + off;
    for (int64_t l = 0; l < L; ++l) {
      out[l * KV] = T(0);
      dS[l * KV] = T(0);
    }
    if (!(f.state_in && s.pos > 0)) continue;  // position 0: the levels are not read
    const HeadRows<T> hr = head_rows(p, s, h, f.q, f.k, f.v, f.ls);
    const T* dO = b.dout + s.row0 * p.H * V + h * V;
    for (int64_t i = 0; i < s.len; ++i) {
      const int m = level_of(s.pos + i, s.pos - 1);
      const T E = exp_t<T>(G_at(f.Gd, p, s, h, i));
      const T qx = hr.qr(i)[x], dy = dO[i * p.H * V + y];
      out[m * KV] += (hr.lam(i, m) * E * qx) * dy;
      for (int l = m + 1; l < L; ++l) dS[l * KV] += (hr.lam(i, l) * E * qx) * dy;
    }
    if (b.dstate_out) {
      const int64_t M = level_of(s.pos + s.len - 1, s.pos - 1);
      const T w = exp_t<T>(G_at(f.Gd, p, s, h, s.len - 1));
      for (int64_t l = 0; l < L; ++l) dS[l * KV] += w * b.dstate_out[off + (l > M ? l : M) * KV];
    }
    T suffix = 0;
    for (int64_t l = L - 1; l >= 0; --l) {
      suffix += out[l * KV];
      out[l * KV] = dS[l * KV] + suffix;
    }
  }
}

// Steps 1-3 of the forward (and of the backward's rebuild): G, the tree and
// the initial state's prefix sums.
template <class T>
void build_workspace(const GpuProblem& p, const GpuForward<T>& f, cudaStream_t st) {
  const int64_t KV = p.K * p.V, per_head = p.n_seqs * p.H * KV;
  cumdecay_kernel<T><<<dim3(static_cast<unsigned>(p.n_seqs), static_cast<unsigned>(p.H)), kThreads, 0, st>>>(
      p, f.g, f.Gd);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (p.n_nodes > 0) {
    chunk_outer_kernel<T><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(KV, kThreads)),
                            kThreads, 0, st>>>(p, f.k, f.v, f.Gd, f.nodes, OuterMode::state, true);
    LOGLIN_CUDA_LAUNCHED(kOp);
    tree_combine_kernel<T><<<cuda::blocks_for(per_head), kThreads, 0, st>>>(p, f.Gd, f.nodes);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
  if (f.state_in) {
    state_prefix_kernel<T><<<cuda::blocks_for(per_head), kThreads, 0, st>>>(p, f.state_in, f.prefix);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
}

}  // namespace
}  // namespace gpu

template <class T>
void log_linear_attention_forward_cuda(const GpuProblem& p, const GpuForward<T>& f) {
  using namespace gpu;
  const int tq = tile_rows(p.C, sizeof(T), 1, kOp);
  cudaStream_t st = cuda::stream(p.device);
  build_workspace(p, f, st);
  const size_t smem = static_cast<size_t>(tq) * p.C * sizeof(T);
  chunk_forward_kernel<T><<<dim3(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(p.C, tq)),
                            kThreads, smem, st>>>(p, f, tq);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (f.state_out) {
    final_state_kernel<T><<<cuda::blocks_for(p.n_seqs * p.H * p.K * p.V), kThreads, 0, st>>>(p, f);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
}

template <class T>
void log_linear_attention_backward_cuda(const GpuProblem& p, const GpuBackward<T>& b) {
  using namespace gpu;
  const int tq = tile_rows(p.C, sizeof(T), 2, kOp);
  const int64_t KV = p.K * p.V, per_head = p.n_seqs * p.H * KV;
  const size_t smem = 2 * static_cast<size_t>(tq) * p.C * sizeof(T);
  cudaStream_t st = cuda::stream(p.device);
  build_workspace(p, b.fwd, st);
  const dim3 chunk_grid(static_cast<unsigned>(p.n_jobs), static_cast<unsigned>(p.H), tiles(p.C, tq));
  chunk_bwd_rows_kernel<T><<<chunk_grid, kThreads, smem, st>>>(p, b, tq);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (p.n_nodes > 0) {
    node_grad_kernel<T><<<dim3(static_cast<unsigned>(p.n_nodes), static_cast<unsigned>(p.H), tiles(KV, kThreads)),
                          kThreads, 0, st>>>(p, b);
    LOGLIN_CUDA_LAUNCHED(kOp);
    push_down_kernel<T><<<cuda::blocks_for(per_head), kThreads, 0, st>>>(p, b.fwd.Gd, b.dnodes);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
  chunk_bwd_cols_kernel<T><<<chunk_grid, kThreads, smem, st>>>(p, b, tq);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (b.dstate_in) {
    dstate_in_kernel<T><<<cuda::blocks_for(per_head), kThreads, 0, st>>>(p, b);
    LOGLIN_CUDA_LAUNCHED(kOp);
  }
  finish_backward(p, b, st, kOp);
}

template void log_linear_attention_forward_cuda<float>(const GpuProblem&, const GpuForward<float>&);
template void log_linear_attention_forward_cuda<double>(const GpuProblem&, const GpuForward<double>&);
template void log_linear_attention_backward_cuda<float>(const GpuProblem&, const GpuBackward<float>&);
template void log_linear_attention_backward_cuda<double>(const GpuProblem&, const GpuBackward<double>&);

}  // namespace loglin::lla

// The gated delta rule and its log-linear form on CUDA, version 1: simple
// and correct, the reference the fast versions are tested against. It is the
// per-level token recurrence of SPEC-gated-deltanet.md section 2 (the one
// ops/gated_delta_rule/reference.cpp and step.cpp walk on the CPU), written
// as plain SIMT code, f32 and f64. Built with the library (CMake compiles
// every .cu under ops/ when LOGLIN_CUDA is on); run through the entry with
// LOGLIN_KERNELS=gated_delta_rule=v1, tested by
// tests/ops/test_gated_delta_rule_cuda.cpp.
//
// How it works. One thread block per (sequence, head); its threads own
// columns v of the state: thread j holds column v = j, j + nt, ... of every
// level's K x V matrix, in global memory (the workspace, layout
// [N, H, L, K, V] like the states). Per token t, on its own columns and
// without talking to the other threads:
//   1. re-bucket (log-linear form, t > 0): with m the trailing one bits of
//      t - 1, levels 0..m join level m + 1 (SPEC-log-linear-attention
//      section 4, the CPU step's merge);
//   2. gate every level in use: a = k_t . S_l[:, v], then
//      S_l[:, v] <- exp(g_t) (S_l[:, v] - beta_t k_t a);
//   3. write: S_0[:, v] += beta_t k_t v_t[v];
//   4. read: o_t[v] = sum_l lambda_t[l] (q_t . S_l[:, v]).
// Without an initial state only levels 0..bit_length(t) can be nonzero at
// token t, so only those are touched ("levels in use"); with one, all L.
//
// The backward is the reverse mode of the same recurrence, with one adjoint
// state per level (SPEC section 3; gated_delta_rule_recurrent_backward in
// reference.cpp is the same algebra on the CPU). It needs every token's
// levels Y_t (after the re-bucket, before the gate), which it recomputes:
//   - a checkpoint pass runs the forward once and saves the levels at the
//     start of every chunk of C tokens (C a power of two near sqrt(longest
//     sequence)), in the workspace;
//   - then, chunk by chunk from the last, it re-runs the chunk's forward
//     from its checkpoint, keeping the chunk's Y_t (C states), and walks the
//     chunk's tokens backwards: per token and column, the adjoint of the
//     read (dS_l += lambda_l q dO[v]), of the write (dv, and the write's
//     parts of dk and dbeta), of the gate (dg = <dZ, Z>, dbeta, dk, and
//     dS_l <- A_t dS_l: A_t is symmetric), and of the re-bucket (levels
//     0..m take level m + 1's adjoint).
// Memory: (rows / C + N) checkpoints, N C per-token levels and N adjoints
// of L x K x V per head (the adjoint's memory is the checkpoint pass's
// running state), plus the reduction scratch.
//
// Reductions: dq_t, dk_t (K each), dg_t, dbeta_t and dlambda_t (L) are sums
// over the V columns. Every thread writes its columns' partial sums to its
// own slot of a scratch block in the workspace; after a barrier, thread j
// sums rows j, j + nt, ... over the slots in slot order. Fixed order, no
// atomics: the results are bitwise reproducible. dq and dk come out per
// head; with G < H a last kernel sums each group's heads in head order.
//
// Kernels:
//   gdr_fwd_v1_kernel       grid (N H, ceil(V / nt)), nt = min(32 ceil(V / 32), 128)
//                           threads, one column per thread: the forward,
//                           o and the final state.
//   gdr_bwd_v1_kernel       grid N H, nt threads (each owning V / nt columns):
//                           checkpoints, then every gradient but the group sums.
//   gdr_heads_to_groups_kernel  (../cuda/heads_to_groups.cuh) only when G < H.
// Cost: O(T L K V) work like the CPU recurrence; the forward reads and
// writes each level in use twice per token, the backward about six times
// (checkpoint pass, recompute, three passes of the adjoint). Parallel over
// N H V only, and sequential over T: slow for few long sequences, which the
// chunked versions exist for.
//
// Numbers: everything in T (f32 or f64): the decays exp(g_t), the dot
// products and the reductions. Indices are 64-bit.
#include "core/cuda_launch.cuh"
#include "ops/gated_delta_rule/cuda/heads_to_groups.cuh"
#include "ops/gated_delta_rule/cuda_v1/gated_delta_rule_v1.h"
#include "ops/workspace_carver.h"

namespace loglin::gdr::v1 {
namespace {

constexpr const char* kOp = "gated_delta_rule";
constexpr int kMaxThreads = 128;

// ---- sizes the launchers and the workspace share ----

struct Sizes {
  int threads = 32;   // per block: one per column up to kMaxThreads
  int64_t C = 8;      // tokens per checkpoint
  int64_t slots = 0;  // checkpoint states per head, over all sequences
  int64_t buf = 0;    // per-token states a block keeps for one chunk: min(C, longest sequence)
  int64_t red_rows = 0;  // rows of a block's scratch: dq (K), dk (K), dg, dbeta, dlambda (L)
};

Sizes sizes_of(const GpuProblem& p) {
  Sizes z;
  z.threads = static_cast<int>(std::min<int64_t>((p.V + 31) / 32 * 32, kMaxThreads));
  while (z.C * z.C < p.max_len) z.C *= 2;
  // Sequence n's checkpoints start at slot row0 / C + n: the starts are at
  // least ceil(len / C) apart, and the last ends before rows / C + N.
  z.slots = p.rows / z.C + p.n_seqs;
  z.buf = std::min(z.C, p.max_len);
  z.red_rows = 2 * p.K + 2 + p.L;
  return z;
}

using Carver = WorkspaceCarver;

template <class T>
struct Work {
  T* state = nullptr;  // forward: the running levels [N, H, L, K, V]
  T* ckpt = nullptr;   // backward: checkpoints [slots, H, L, K, V]
  T* buf = nullptr;    // backward: one chunk's levels Y_t [N H, buf, L, K, V]
  T* dS = nullptr;     // backward: the adjoint levels [N, H, L, K, V] (first the checkpoint pass's running levels)
  T* red = nullptr;    // backward: reduction scratch [N H, red_rows, threads]
  T *dq_head = nullptr, *dk_head = nullptr;  // backward, G < H: [rows, H, K]
  size_t bytes = 0;
};

template <class T>
Work<T> carve(void* base, const GpuProblem& p, const Sizes& z, bool backward) {
  Carver c(base);
  Work<T> w;
  const int64_t LKV = p.L * p.K * p.V, NH = p.n_seqs * p.H;
  if (!backward) {
    w.state = c.take<T>(NH * LKV);
  } else {
    w.ckpt = c.take<T>(z.slots * p.H * LKV);
    w.buf = c.take<T>(NH * z.buf * LKV);
    w.dS = c.take<T>(NH * LKV);
    w.red = c.take<T>(NH * z.red_rows * z.threads);
    if (p.G != p.H) {
      w.dq_head = c.take<T>(p.rows * p.H * p.K);
      w.dk_head = c.take<T>(p.rows * p.H * p.K);
    }
  }
  w.bytes = c.used();
  return w;
}

// ---- device helpers ----

__device__ __forceinline__ float exp_of(float x) { return expf(x); }
__device__ __forceinline__ double exp_of(double x) { return exp(x); }

__device__ __forceinline__ int bit_len(int64_t x) { return x == 0 ? 0 : 64 - __clzll(static_cast<long long>(x)); }
// The number of trailing one bits of c >= 0.
__device__ __forceinline__ int trailing_ones(int64_t c) { return __ffsll(static_cast<long long>(~c)) - 1; }

// Column v of one head's levels: element (l, x) at p[(l K + x) V].
template <class T>
struct Column {
  T* p;
  int64_t K, V;
  __device__ T& at(int64_t l, int64_t x) const { return p[(l * K + x) * V]; }
};

// The levels that can be nonzero at token t (absolute position): all L with
// an initial state; else those of sources s <= t, level(t, s) <= bit_length(t).
__device__ __forceinline__ int levels_in_use(const GpuProblem& p, bool state_in, int64_t t) {
  if (!p.log_linear) return 1;
  if (state_in) return static_cast<int>(p.L);
  const int64_t top = bit_len(t) + 1;
  return static_cast<int>(top < p.L ? top : p.L);
}

// One token's inputs for one head.
template <class T>
struct TokenIn {
  const T *q, *k, *lam;  // q, k [K]; lam [L] or null (the plain form)
  T e, b;                // exp(g_t), beta_t
};

// Where one (sequence, head) reads its inputs: row i of the sequence.
template <class T>
struct HeadIn {
  const T *q, *k, *v, *g, *beta, *ls;
  int64_t sqk, sv, sg, sls;
  __device__ HeadIn(const GpuProblem& p, const GpuSeq& s, int64_t h, const GpuForward<T>& f) {
    const int64_t grp = h / (p.H / p.G);
    sqk = p.G * p.K, sv = p.H * p.V, sg = p.H, sls = p.H * p.L;
    q = f.q + s.row0 * sqk + grp * p.K;
    k = f.k + s.row0 * sqk + grp * p.K;
    v = f.v + s.row0 * sv + h * p.V;
    g = f.g + s.row0 * sg + h;
    beta = f.beta + s.row0 * sg + h;
    ls = f.ls ? f.ls + s.row0 * sls + h * p.L : nullptr;
  }
  __device__ TokenIn<T> token(int64_t i) const {
    return {q + i * sqk, k + i * sqk, ls ? ls + i * sls : nullptr, exp_of(g[i * sg]), beta[i * sg]};
  }
};

// S (all L levels of one column) = src's column, or zeros when src is null.
template <class T>
__device__ void load_levels(Column<T> S, const T* src, int64_t L) {
  for (int64_t l = 0; l < L; ++l)
    for (int64_t x = 0; x < S.K; ++x) S.at(l, x) = src ? src[(l * S.K + x) * S.V] : T(0);
}

// dst's column = the first `levels` levels of S.
template <class T>
__device__ void store_levels(Column<T> S, T* dst, int64_t levels) {
  for (int64_t l = 0; l < levels; ++l)
    for (int64_t x = 0; x < S.K; ++x) dst[(l * S.K + x) * S.V] = S.at(l, x);
}

// Step 1 for the token after absolute position c: levels 0..m join m + 1.
template <class T>
__device__ void merge_levels(Column<T> S, int64_t c) {
  const int m = trailing_ones(c);
  for (int64_t x = 0; x < S.K; ++x) {
    T acc = S.at(m + 1, x);
    for (int l = 0; l <= m; ++l) {
      acc += S.at(l, x);
      S.at(l, x) = T(0);
    }
    S.at(m + 1, x) = acc;
  }
}

// Steps 2-4 on one column: gate the levels in use, write vv (= v_t[v]) into
// level 0 and return o_t[v] (0 when read is false).
template <class T>
__device__ T step_column(Column<T> S, int top, const TokenIn<T>& tk, T vv, bool read) {
  T o = 0;
  for (int l = 0; l < top; ++l) {
    T a = 0;
    for (int64_t x = 0; x < S.K; ++x) a += tk.k[x] * S.at(l, x);
    const T ba = tk.b * a, w = l == 0 ? tk.b * vv : T(0);
    T r = 0;
    for (int64_t x = 0; x < S.K; ++x) {
      const T s = tk.e * (S.at(l, x) - tk.k[x] * ba) + tk.k[x] * w;
      S.at(l, x) = s;
      if (read) r += tk.q[x] * s;
    }
    if (read) o += (tk.lam ? tk.lam[l] : T(1)) * r;
  }
  return o;
}

// ---- the forward ----

template <class T>
__global__ void gdr_fwd_v1_kernel(GpuProblem p, GpuForward<T> f, T* state) {
  // q, k (rows,G,K); v (rows,H,V); g, beta (rows,H); ls (rows,H,L) -> o (rows,H,V), state_out (N,H,L,K,V).
  const int64_t sh = blockIdx.x, n = sh / p.H, h = sh % p.H;
  const int64_t v = int64_t(blockIdx.y) * blockDim.x + threadIdx.x;
  if (v >= p.V) return;
  const GpuSeq s = p.seqs[n];
  const HeadIn<T> in(p, s, h, f);
  const int64_t LKV = p.L * p.K * p.V;
  const Column<T> S{state + sh * LKV + v, p.K, p.V};
  const bool has_state = f.state_in != nullptr;
  load_levels(S, has_state ? f.state_in + sh * LKV + v : nullptr, p.L);
  for (int64_t i = 0; i < s.len; ++i) {
    const int64_t t = s.pos + i;
    if (p.log_linear && t > 0) merge_levels(S, t - 1);
    const TokenIn<T> tk = in.token(i);
    f.o[(s.row0 + i) * in.sv + h * p.V + v] =
        step_column(S, levels_in_use(p, has_state, t), tk, in.v[i * in.sv + v], true);
  }
  if (f.state_out) store_levels(S, f.state_out + sh * LKV + v, p.L);
}

// ---- the backward ----

// The adjoint of one token on one column. Y: the token's levels before the
// gate; dS: the adjoint of the levels after the token (updated in place to
// the adjoint of the levels before the re-bucket is undone, which the
// caller does). red: this thread's scratch slot (row r at red[r * nt]),
// which collects the column's parts of dq (rows 0..K-1), dk (K..2K-1), dg
// (2K), dbeta (2K+1) and dlambda (2K+2+l). Returns dv_t[v].
template <class T>
__device__ T backward_column(Column<T> Y, Column<T> dS, int top, const TokenIn<T>& tk, T vv, T dov, T* red, int nt) {
  const int64_t K = Y.K;
  T a[kMaxLevels], c[kMaxLevels], cq[kMaxLevels];
  for (int l = 0; l < top; ++l) {
    T s = 0;
    for (int64_t x = 0; x < K; ++x) s += tk.k[x] * Y.at(l, x);
    a[l] = s, c[l] = 0, cq[l] = 0;
  }
  // Z_l = e (Y_l - b k a_l), X = Z + (level 0) b k v^T, o = sum_l lam_l X_l^T q.
  // The read: dq, dlambda and dS_l += lam_l q dO (then dS is dZ); the write:
  // dv, and its parts of dk and dbeta; the gate's dg = <dZ, Z>.
  T dg = 0, db = 0, dv = 0;
  const T bv = tk.b * vv;
  for (int64_t x = 0; x < K; ++x) {
    const T kx = tk.k[x], qx = tk.q[x];
    T pq = 0, pk = 0;
    for (int l = 0; l < top; ++l) {
      const T z = tk.e * (Y.at(l, x) - kx * (tk.b * a[l]));
      const T xl = l == 0 ? z + kx * bv : z;
      const T lw = tk.lam ? tk.lam[l] : T(1);
      cq[l] += qx * xl;
      pq += lw * xl;
      const T dz = dS.at(l, x) + lw * qx * dov;
      dS.at(l, x) = dz;
      dg += dz * z;
      c[l] += kx * dz;
      if (l == 0) {
        db += kx * dz * vv;
        pk = tk.b * dz * vv;
        dv += tk.b * dz * kx;
      }
    }
    red[x * nt] += pq * dov;
    red[(K + x) * nt] += pk;
  }
  // The gate, per level with c_l = dZ_l^T k: dbeta -= e a_l . c_l,
  // dk -= e b (dZ_l a_l + Y_l c_l), dY_l = A^T dZ_l = e (dZ_l - b k c_l^T).
  for (int l = 0; l < top; ++l) {
    db -= tk.e * a[l] * c[l];
    red[(2 * K + 2 + l) * nt] += cq[l] * dov;
  }
  red[2 * K * nt] += dg;
  red[(2 * K + 1) * nt] += db;
  const T eb = tk.e * tk.b;
  for (int64_t x = 0; x < K; ++x) {
    const T kx = tk.k[x];
    T pk = 0;
    for (int l = 0; l < top; ++l) {
      const T dz = dS.at(l, x);
      pk += dz * a[l] + Y.at(l, x) * c[l];
      dS.at(l, x) = tk.e * (dz - tk.b * kx * c[l]);
    }
    red[(K + x) * nt] -= eb * pk;
  }
  return dv;
}

// Undoes step 1 for the adjoint: levels 0..m were folded into m + 1, so
// each takes level m + 1's adjoint.
template <class T>
__device__ void unmerge_levels(Column<T> dS, int64_t c) {
  const int m = trailing_ones(c);
  for (int64_t x = 0; x < dS.K; ++x) {
    const T d = dS.at(m + 1, x);
    for (int l = 0; l <= m; ++l) dS.at(l, x) = d;
  }
}

template <class T>
__global__ void gdr_bwd_v1_kernel(GpuProblem p, GpuBackward<T> b, Work<T> w, Sizes z) {
  // dout (rows,H,V), dstate_out (N,H,L,K,V) -> dq, dk (rows,G,K) [per head when G < H]; dv (rows,H,V);
  // dg, dbeta (rows,H); dls (rows,H,L); dstate_in (N,H,L,K,V).
  const GpuForward<T>& f = b.fwd;
  const int64_t sh = blockIdx.x, n = sh / p.H, h = sh % p.H;
  const GpuSeq s = p.seqs[n];
  const HeadIn<T> in(p, s, h, f);
  const int nt = blockDim.x, j = threadIdx.x;
  const int64_t K = p.K, V = p.V, L = p.L, LKV = L * K * V, C = z.C, R = z.red_rows;
  const bool has_state = f.state_in != nullptr;
  const int64_t n_ck = (s.len + C - 1) / C;
  T* ckpt = w.ckpt + ((s.row0 / C + n) * p.H + h) * LKV;  // checkpoint ck at ckpt + ck H LKV
  T* ybuf = w.buf + sh * z.buf * LKV;                     // token i of the chunk at ybuf + (i - c0) LKV
  T* dS = w.dS + sh * LKV;
  T* red = w.red + sh * R * nt;
  T* dq = p.G == p.H ? b.dq : w.dq_head;  // [rows, H, K] either way (G == H: the group is the head)
  T* dk = p.G == p.H ? b.dk : w.dk_head;

  // 1. Checkpoints: the forward from the initial state (dS's memory holds
  //    the running levels), saving the levels before each chunk's first token.
  for (int64_t v = j; v < V; v += nt) {
    const Column<T> S{dS + v, K, V};
    load_levels(S, has_state ? f.state_in + sh * LKV + v : nullptr, L);
    for (int64_t ck = 0; ck < n_ck; ++ck) {
      store_levels(S, ckpt + ck * p.H * LKV + v, L);
      if (ck + 1 == n_ck) break;
      for (int64_t i = ck * C; i < (ck + 1) * C; ++i) {
        const int64_t t = s.pos + i;
        if (p.log_linear && t > 0) merge_levels(S, t - 1);
        step_column(S, levels_in_use(p, has_state, t), in.token(i), in.v[i * in.sv + v], false);
      }
    }
    // 2. The final state's gradient seeds the adjoint.
    load_levels(S, b.dstate_out ? b.dstate_out + sh * LKV + v : nullptr, L);
  }

  // 3. The chunks from the last: recompute their levels, then their tokens backwards.
  for (int64_t ck = n_ck - 1; ck >= 0; --ck) {
    const int64_t c0 = ck * C, c1 = c0 + C < s.len ? c0 + C : s.len;
    for (int64_t v = j; v < V; v += nt) {
      const Column<T> S{ckpt + ck * p.H * LKV + v, K, V};  // run in place: this checkpoint is not read again
      for (int64_t i = c0; i < c1; ++i) {
        const int64_t t = s.pos + i;
        if (p.log_linear && t > 0) merge_levels(S, t - 1);
        const int top = levels_in_use(p, has_state, t);
        store_levels(S, ybuf + (i - c0) * LKV + v, top);
        step_column(S, top, in.token(i), in.v[i * in.sv + v], false);
      }
    }
    for (int64_t i = c1 - 1; i >= c0; --i) {
      const int64_t t = s.pos + i, row = s.row0 + i, rh = row * p.H + h;
      const int top = levels_in_use(p, has_state, t);
      const TokenIn<T> tk = in.token(i);
      for (int64_t r = 0; r < R; ++r) red[r * nt + j] = T(0);
      for (int64_t v = j; v < V; v += nt) {
        const Column<T> dSc{dS + v, K, V};
        b.dv[rh * V + v] = backward_column(Column<T>{ybuf + (i - c0) * LKV + v, K, V}, dSc, top, tk,
                                           in.v[i * in.sv + v], b.dout[rh * V + v], red + j, nt);
        if (p.log_linear && t > 0) unmerge_levels(dSc, t - 1);
      }
      __syncthreads();
      // Thread j sums rows j, j + nt, ... over the slots in slot order.
      for (int64_t r = j; r < R; r += nt) {
        T acc = 0;
        for (int u = 0; u < nt; ++u) acc += red[r * nt + u];
        if (r < K) dq[rh * K + r] = acc;
        else if (r < 2 * K) dk[rh * K + (r - K)] = acc;
        else if (r == 2 * K) b.dg[rh] = acc;
        else if (r == 2 * K + 1) b.dbeta[rh] = acc;
        else if (b.dls) b.dls[rh * L + (r - 2 * K - 2)] = acc;
      }
      __syncthreads();
    }
  }

  // 4. What is left is the adjoint of the initial state.
  if (b.dstate_in)
    for (int64_t v = j; v < V; v += nt) store_levels(Column<T>{dS + v, K, V}, b.dstate_in + sh * LKV + v, L);
}

void check_problem(const GpuProblem& p) {
  LOGLIN_CHECK(p.L >= 1 && p.L <= kMaxLevels, "[{}] v1 keeps at most {} state levels, got L = {}", kOp, kMaxLevels,
               p.L);
  LOGLIN_CHECK(p.n_seqs * p.H < (int64_t{1} << 31), "[{}] v1 runs one block per (sequence, head): {} x {} is too many",
               kOp, p.n_seqs, p.H);
  LOGLIN_CHECK(p.seqs != nullptr, "[{}] v1 needs the uploaded sequence table", kOp);
}

}  // namespace

size_t workspace_bytes(const GpuProblem& p, size_t elem_bytes, bool backward) {
  const Sizes z = sizes_of(p);
  return elem_bytes == sizeof(double) ? carve<double>(nullptr, p, z, backward).bytes
                                      : carve<float>(nullptr, p, z, backward).bytes;
}

template <class T>
void forward(const GpuProblem& p, const GpuForward<T>& f, void* ws) {
  check_problem(p);
  const Sizes z = sizes_of(p);
  const Work<T> w = carve<T>(ws, p, z, false);
  const dim3 grid(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>((p.V + z.threads - 1) / z.threads));
  LOGLIN_CHECK(grid.y <= 65535u, "[{}] v1: V = {} needs more than 65535 column tiles", kOp, p.V);
  gdr_fwd_v1_kernel<T><<<grid, z.threads, 0, cuda::stream(p.device)>>>(p, f, w.state);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <class T>
void backward(const GpuProblem& p, const GpuBackward<T>& b, void* ws) {
  check_problem(p);
  const Sizes z = sizes_of(p);
  const Work<T> w = carve<T>(ws, p, z, true);
  cudaStream_t st = cuda::stream(p.device);
  gdr_bwd_v1_kernel<T><<<static_cast<unsigned>(p.n_seqs * p.H), z.threads, 0, st>>>(p, b, w, z);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (p.G != p.H) heads_to_groups(p, w.dq_head, w.dk_head, b.dq, b.dk, kOp);
}

template void forward<float>(const GpuProblem&, const GpuForward<float>&, void*);
template void forward<double>(const GpuProblem&, const GpuForward<double>&, void*);
template void backward<float>(const GpuProblem&, const GpuBackward<float>&, void*);
template void backward<double>(const GpuProblem&, const GpuBackward<double>&, void*);

}  // namespace loglin::gdr::v1

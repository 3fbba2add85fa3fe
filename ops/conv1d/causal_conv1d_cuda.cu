// Depthwise causal conv1d on CUDA, x (B,T,C) channels-last, read as B*T rows
// of C with a row stride (a narrow()ed view of a wider projection is read in
// place). Optional fused SiLU on the output; the backward recomputes the
// pre-activation z from x (W taps) instead of saving it.
//
//   v2 (W <= 8, the Mamba case W = 4; B*T <= 2^30)
//     causal_conv1d_fwd_v2_kernel  block = 32 channel groups x 4 row ranges.
//       A thread owns V consecutive channels (V = 4 floats, one 16-byte load,
//       when C, the row strides and the pointers allow; else V = 1; f64, for
//       the tests, always 1) and walks a range of consecutive rows with the
//       last KW input rows in registers (KW = 4 for W <= 4, else 8; taps past
//       W are predicated off): each x row is loaded once per range, not W
//       times, and two rows ahead are in flight. Ranges are sized from the SM
//       count and the kernel's occupancy so the grid is about one full wave.
//     causal_conv1d_bwd_v2_kernel  one pass over dy and x for dx, dweight and
//       dbias together (each optional): walks rows like the forward, keeping
//       x and dz = dy * act'(z) windows in registers; dx of row s is written
//       once dz of rows s .. s+W-1 are known (a range reads KW-1 rows past its
//       end for that). Weight/bias partials of a block's 4 row ranges are
//       added in shared memory in a fixed order into one [W+1, C] slice per
//       chunk of rows.
//   v1 (any W): one channel per thread, taps read straight from memory (L1
//     serves the re-reads); dx recomputes dz for each of its W taps. Only
//     kernels wider than 8 taps (or more than 2^30 rows) take it.
//
// Weight and bias gradients are deterministic: chunks of rows depend on the
// row count only (causal_conv1d_bwd_chunks), each chunk writes its own slice
// of scratch, and column_sum adds the slices in chunk order. No atomics.
// No kernel spills registers (nvcc -Xptxas -v, sm_90): the device sigmoid
// avoids IEEE division and times are 32-bit, since both compile to calls.
#include <atomic>
#include <initializer_list>
#include <type_traits>

#include "core/cuda_column_sum.cuh"
#include "core/cuda_launch.cuh"
#include "ops/conv1d/causal_conv1d_cuda.h"

namespace loglin::cuda {
namespace {

constexpr const char* kOp = "causal_conv1d";

// ---- shared pieces ----

constexpr int kGroupThreads = 32;  // v2 threadIdx.x: channel groups (a warp reads 32*V consecutive channels)
constexpr int kRangeThreads = 4;   // v2 threadIdx.y: consecutive row ranges of one block
constexpr int kV2Threads = kGroupThreads * kRangeThreads;
constexpr int kMaxRegTaps = 8;     // widest kernel v2 keeps in registers
constexpr int64_t kMinFwdRows = 8;  // fewest rows per forward range (the window costs W-1 extra rows)
constexpr int kAhead = 2;           // rows loaded ahead of the one being computed
constexpr int64_t kMaxV2Rows = int64_t{1} << 30;  // v2 keeps times and chunk offsets in 32 bits

constexpr int kV1ChanTile = 128;    // v1: channels per block (threads)
constexpr int64_t kV1RowTile = 16;  // v1: consecutive rows per block in fwd and dx
constexpr int kV1Taps = 4;          // v1 dw: accumulators per thread; wider kernels loop over groups of taps

// Channels per thread in v2's vector path: 4 floats, one 16-byte load. f64
// (gradcheck and the CPU-vs-CUDA tests) keeps one: no vector variants to
// build for it.
template <class T>
constexpr int kVec = sizeof(T) == sizeof(float) ? 4 : 1;

template <class T, int V>
struct alignas(sizeof(T) * V) Vec {
  T v[V];
};

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Everything a kernel reads; passed by value. ld* are row strides in elements.
template <class T>
struct ConvArgs {
  const T* x;
  int64_t ldx;
  const T* dy;
  int64_t ldy;
  const T* wt;    // (W, C)
  const T* bias;  // (C) or null
  T* out;         // fwd: out; bwd: dx or null. Contiguous (rows, C)
  T* part;        // bwd: [chunks, W+1, C] scratch or null
  int64_t rows, T_, C;
  int W;
  int64_t chunk_rows;  // bwd: rows per weight-gradient chunk
};

// SMs of `device`, asked once.
int sm_count(int device) {
  constexpr int kCached = 64;
  static std::atomic<int> cache[kCached] = {};
  if (device >= 0 && device < kCached) {
    const int n = cache[device].load(std::memory_order_relaxed);
    if (n > 0) return n;
  }
  int n = 0;
  LOGLIN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device), kOp);
  n = std::max(n, 1);
  if (device >= 0 && device < kCached) cache[device].store(n, std::memory_order_relaxed);
  return n;
}

// ---- v2: register windows ----

// Thread (gx, y) of a v2 block owns channels c0 .. c0+V-1, c0 = V * gx.
__device__ __forceinline__ int64_t v2_first_channel(int V) {
  return (int64_t(blockIdx.x) * kGroupThreads + threadIdx.x) * V;
}

template <class T, int V>
__device__ __forceinline__ Vec<T, V> load_vec(const T* p) {
  return *reinterpret_cast<const Vec<T, V>*>(p);
}

template <class T, int V>
__device__ __forceinline__ void store_vec(T* p, const Vec<T, V>& v) {
  *reinterpret_cast<Vec<T, V>*>(p) = v;
}

// wr[i][v] = weight of the tap that reads x[u - i] for output row u: tap
// W-1-i, zero for i >= W. Also the bias.
template <class T, int V, int KW>
__device__ __forceinline__ void load_taps(const ConvArgs<T>& a, int64_t c0, T (&wr)[KW][V], T (&b)[V]) {
#pragma unroll
  for (int i = 0; i < KW; ++i)
#pragma unroll
    for (int v = 0; v < V; ++v) wr[i][v] = i < a.W ? a.wt[int64_t(a.W - 1 - i) * a.C + c0 + v] : T(0);
#pragma unroll
  for (int v = 0; v < V; ++v) b[v] = a.bias ? a.bias[c0 + v] : T(0);
}

// The window before row r0 (time t0 in its sequence), as the loop's first
// push_row expects it: xr[i] = x[r0 - 1 - i] for the rows inside the sequence
// that a tap reaches (i + 1 < W), zero elsewhere (never read: the taps are
// predicated on the time).
template <class T, int V, int KW>
__device__ __forceinline__ void prefill_window(const ConvArgs<T>& a, int64_t r0, int t0, int64_t c0,
                                               T (&xr)[KW][V]) {
#pragma unroll
  for (int i = 0; i < KW; ++i) {
    Vec<T, V> xv{};
    if (i + 1 < a.W && i + 1 <= t0) xv = load_vec<T, V>(a.x + (r0 - 1 - i) * a.ldx + c0);
#pragma unroll
    for (int v = 0; v < V; ++v) xr[i][v] = xv.v[v];
  }
}

// Shifts a window one row on: w[i] <- w[i-1], w[0] <- fresh.
template <class T, int V, int KW>
__device__ __forceinline__ void push_row(T (&w)[KW][V], const T (&fresh)[V]) {
#pragma unroll
  for (int i = KW - 1; i > 0; --i)
#pragma unroll
    for (int v = 0; v < V; ++v) w[i][v] = w[i - 1][v];
#pragma unroll
  for (int v = 0; v < V; ++v) w[0][v] = fresh[v];
}

// z = bias + sum over the nt taps inside the sequence (i < nt) of wr[i] * x[u - i],
// added oldest tap first as the CPU loop does.
template <class T, int V, int KW>
__device__ __forceinline__ void window_z(const T (&wr)[KW][V], const T (&xr)[KW][V], const T (&b)[V], int nt,
                                         T (&z)[V]) {
#pragma unroll
  for (int v = 0; v < V; ++v) z[v] = b[v];
#pragma unroll
  for (int i = KW - 1; i >= 0; --i)
    if (i < nt)
#pragma unroll
      for (int v = 0; v < V; ++v) z[v] += wr[i][v] * xr[i][v];
}

// Taps of row u (time t) that read inside its sequence.
__device__ __forceinline__ int taps_inside(int W, int t) { return t + 1 < W ? t + 1 : W; }

// Thread (gx, y) computes rows [r0, r0 + per) of range blockIdx.y * 4 + y.
template <class T, int V, int KW, bool kSilu>
__global__ void __launch_bounds__(kV2Threads)
    causal_conv1d_fwd_v2_kernel(ConvArgs<T> a, int64_t per) {
  const int64_t c0 = v2_first_channel(V);
  const int64_t r0 = (int64_t(blockIdx.y) * kRangeThreads + threadIdx.y) * per;
  if (c0 >= a.C || r0 >= a.rows) return;  // no barriers below
  const int64_t r1 = r0 + per < a.rows ? r0 + per : a.rows;
  const T* __restrict__ x = a.x;
  T* __restrict__ out = a.out;
  // Time of row u. 32-bit: a 64-bit % is a call, and calls make kernels spill.
  const int T32 = static_cast<int>(a.T_);
  int t = static_cast<int>(r0) % T32;
  T wr[KW][V], b[V], xr[KW][V];
  load_taps(a, c0, wr, b);
  prefill_window(a, r0, t, c0, xr);
  // Rows u+1 .. u+kAhead are in flight while row u is computed.
  Vec<T, V> ahead[kAhead];
#pragma unroll
  for (int q = 0; q < kAhead; ++q)
    if (r0 + q < r1) ahead[q] = load_vec<T, V>(x + (r0 + q) * a.ldx + c0);
#pragma unroll 1
  for (int64_t u = r0; u < r1; ++u) {
    const Vec<T, V> xv = ahead[0];
#pragma unroll
    for (int q = 0; q + 1 < kAhead; ++q) ahead[q] = ahead[q + 1];
    if (u + kAhead < r1) ahead[kAhead - 1] = load_vec<T, V>(x + (u + kAhead) * a.ldx + c0);
    push_row(xr, xv.v);
    T z[V];
    window_z(wr, xr, b, taps_inside(a.W, t), z);
    Vec<T, V> o;
#pragma unroll
    for (int v = 0; v < V; ++v) o.v[v] = conv_act<kSilu>(z[v]);
    store_vec<T, V>(out + u * a.C + c0, o);
    if (++t == T32) t = 0;
  }
}

// Block (gx, chunk k = blockIdx.y): the chunk's rows [k * chunk_rows, (k+1) *
// chunk_rows) split into 4 consecutive ranges, one per threadIdx.y. A thread walks its
// range (plus KW-1 rows after it when dx is wanted: dx of row s needs dz of
// s .. s+W-1) computing dz = dy * act'(z) once per row:
//   dw:  dwr[i] += dz[u] * x[u - i] (tap W-1-i), db += dz[u], for u in the range;
//   dx:  dx[s] = sum_{m < W} w[W-1-m] * dz[s + m] = sum_m wr[m] * dz[s + m], written
//        at u = s + KW - 1, where dzr[KW-1-m] holds dz[s + m].
template <class T, int V, int KW, bool kSilu, bool kDx, bool kDw>
__global__ void __launch_bounds__(kV2Threads)
    causal_conv1d_bwd_v2_kernel(ConvArgs<T> a) {
  const int64_t c0 = v2_first_channel(V);
  const bool active = c0 < a.C;
  const int64_t k = blockIdx.y;
  const int cs = static_cast<int>(k * a.chunk_rows);
  const int ce = static_cast<int>(min(k * a.chunk_rows + a.chunk_rows, a.rows));
  const int clen = ce > cs ? ce - cs : 0;
  const int64_t r0 = cs + clen * int(threadIdx.y) / kRangeThreads;
  const int64_t r1 = cs + clen * int(threadIdx.y + 1) / kRangeThreads;
  const T* __restrict__ x = a.x;
  const T* __restrict__ dy = a.dy;
  T* __restrict__ dx = a.out;
  constexpr bool kNeedX = kSilu || kDw;

  T dwr[KW][V], db[V];
#pragma unroll
  for (int v = 0; v < V; ++v) {
    db[v] = T(0);
#pragma unroll
    for (int i = 0; i < KW; ++i) dwr[i][v] = T(0);
  }

  if (active && r0 < r1) {
    // Times in 32 bits: a 64-bit % is a call, and calls make kernels spill.
    const int T32 = static_cast<int>(a.T_);
    int t = static_cast<int>(r0) % T32;  // time of row u
    // Time of s = u - (KW-1), the row whose dx is due at u.
    int ts = ((t - (KW - 1)) % T32 + T32) % T32;
    T wr[KW][V], b[V], xr[KW][V], dzr[KW][V];
    load_taps(a, c0, wr, b);
    if constexpr (kNeedX) prefill_window(a, r0, t, c0, xr);
#pragma unroll
    for (int i = 0; i < KW; ++i)
#pragma unroll
      for (int v = 0; v < V; ++v) dzr[i][v] = T(0);  // rows before r0: never read
    const int64_t uend = kDx ? r1 + (KW - 1) : r1;
    const int64_t lend = uend < a.rows ? uend : a.rows;  // rows past the last one are not loaded
    // Rows u+1 .. u+kAhead of dy (and x) are in flight while row u is computed.
    Vec<T, V> g_ahead[kAhead], x_ahead[kAhead];
#pragma unroll
    for (int q = 0; q < kAhead; ++q)
      if (r0 + q < lend) {
        g_ahead[q] = load_vec<T, V>(dy + (r0 + q) * a.ldy + c0);
        if constexpr (kNeedX) x_ahead[q] = load_vec<T, V>(x + (r0 + q) * a.ldx + c0);
      }
#pragma unroll 1
    for (int64_t u = r0; u < uend; ++u) {
      const Vec<T, V> g = g_ahead[0];
      const Vec<T, V> xv = x_ahead[0];
#pragma unroll
      for (int q = 0; q + 1 < kAhead; ++q) {
        g_ahead[q] = g_ahead[q + 1];
        x_ahead[q] = x_ahead[q + 1];
      }
      if (u + kAhead < lend) {
        g_ahead[kAhead - 1] = load_vec<T, V>(dy + (u + kAhead) * a.ldy + c0);
        if constexpr (kNeedX) x_ahead[kAhead - 1] = load_vec<T, V>(x + (u + kAhead) * a.ldx + c0);
      }
      T dz[V];
      if (u < a.rows) {
        if constexpr (kNeedX) push_row(xr, xv.v);
        const int nt = taps_inside(a.W, t);
        if constexpr (kSilu) {
          T z[V];
          window_z(wr, xr, b, nt, z);
#pragma unroll
          for (int v = 0; v < V; ++v) dz[v] = conv_act_grad<true>(z[v], g.v[v]);
        } else {
#pragma unroll
          for (int v = 0; v < V; ++v) dz[v] = g.v[v];
        }
        if constexpr (kDw) {
          if (u < r1) {
#pragma unroll
            for (int v = 0; v < V; ++v) db[v] += dz[v];
#pragma unroll
            for (int i = 0; i < KW; ++i)
              if (i < nt)
#pragma unroll
                for (int v = 0; v < V; ++v) dwr[i][v] += dz[v] * xr[i][v];
          }
        }
      } else {
#pragma unroll
        for (int v = 0; v < V; ++v) dz[v] = T(0);  // past the last row: outside every sequence
      }
      if constexpr (kDx) {
        push_row(dzr, dz);
        const int64_t s = u - (KW - 1);
        if (s >= r0) {
          // dz[s + m] counts while s + m stays in s's sequence: m < T_ - ts.
          const int nm = T32 - ts < a.W ? T32 - ts : a.W;
          Vec<T, V> d;
#pragma unroll
          for (int v = 0; v < V; ++v) d.v[v] = T(0);
#pragma unroll
          for (int m = KW - 1; m >= 0; --m)
            if (m < nm)
#pragma unroll
              for (int v = 0; v < V; ++v) d.v[v] += wr[m][v] * dzr[KW - 1 - m][v];
          store_vec<T, V>(dx + s * a.C + c0, d);
        }
        if (++ts == T32) ts = 0;
      }
      if (++t == T32) t = 0;
    }
  }

  if constexpr (kDw) {
    // The 4 ranges' sums, added in range order: [y][i][v][gx], i == KW is the bias.
    __shared__ T red[kRangeThreads][KW + 1][V][kGroupThreads];
    const int gx = threadIdx.x, y = threadIdx.y;
#pragma unroll
    for (int v = 0; v < V; ++v) {
#pragma unroll
      for (int i = 0; i < KW; ++i) red[y][i][v][gx] = dwr[i][v];
      red[y][KW][v][gx] = db[v];
    }
    __syncthreads();
    if (y == 0 && active) {
      T* pk = a.part + k * (a.W + 1) * a.C + c0;
#pragma unroll
      for (int i = 0; i <= KW; ++i) {
        if (i < KW && i >= a.W) continue;
        // i < W: tap W-1-i; i == KW: the bias row W.
        T* p = pk + (i == KW ? int64_t(a.W) : int64_t(a.W - 1 - i)) * a.C;
#pragma unroll
        for (int v = 0; v < V; ++v) {
          T s = red[0][i][v][gx];
#pragma unroll
          for (int q = 1; q < kRangeThreads; ++q) s += red[q][i][v][gx];
          p[v] = s;
        }
      }
    }
  }
}

// ---- v1: any W, one channel per thread ----

// z of row `row` (time t), channel c.
template <class T>
__device__ __forceinline__ T conv_z_v1(const ConvArgs<T>& a, int64_t row, int64_t t, int64_t c) {
  T acc = a.bias ? a.bias[c] : T(0);
  // Tap j reads time t-(W-1)+j, i.e. row - (W-1-j) in the same sequence.
  for (int64_t j = a.W - 1 - t > 0 ? a.W - 1 - t : 0; j < a.W; ++j)
    acc += a.wt[j * a.C + c] * a.x[(row - (a.W - 1 - j)) * a.ldx + c];
  return acc;
}

// dz of row `row` (time t), channel c.
template <class T, bool kSilu>
__device__ __forceinline__ T conv_dz_v1(const ConvArgs<T>& a, int64_t row, int64_t t, int64_t c) {
  const T g = a.dy[row * a.ldy + c];
  if constexpr (kSilu) return conv_act_grad<true>(conv_z_v1(a, row, t, c), g);
  else return g;
}

int v1_threads(int64_t C) { return static_cast<int>(std::clamp<int64_t>((C + 31) / 32 * 32, 32, kV1ChanTile)); }

dim3 v1_row_tile_grid(int64_t rows, int64_t C, int threads) {
  const int64_t tiles = (rows + kV1RowTile - 1) / kV1RowTile;
  return dim3(static_cast<unsigned>((C + threads - 1) / threads),
              static_cast<unsigned>(std::clamp<int64_t>(tiles, 1, 65535)));
}

template <class T, bool kSilu>
__global__ void causal_conv1d_fwd_v1_kernel(ConvArgs<T> a) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= a.C) return;
  for (int64_t r0 = int64_t(blockIdx.y) * kV1RowTile; r0 < a.rows; r0 += int64_t(gridDim.y) * kV1RowTile) {
    const int64_t r1 = r0 + kV1RowTile < a.rows ? r0 + kV1RowTile : a.rows;
    for (int64_t row = r0; row < r1; ++row) a.out[row * a.C + c] = conv_act<kSilu>(conv_z_v1(a, row, row % a.T_, c));
  }
}

template <class T, bool kSilu>
__global__ void causal_conv1d_bwd_dx_v1_kernel(ConvArgs<T> a) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= a.C) return;
  for (int64_t r0 = int64_t(blockIdx.y) * kV1RowTile; r0 < a.rows; r0 += int64_t(gridDim.y) * kV1RowTile) {
    const int64_t r1 = r0 + kV1RowTile < a.rows ? r0 + kV1RowTile : a.rows;
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t s = row % a.T_;
      T acc = 0;
      for (int64_t j = 0; j < a.W; ++j) {
        const int64_t shift = a.W - 1 - j;
        if (s + shift < a.T_) acc += a.wt[j * a.C + c] * conv_dz_v1<T, kSilu>(a, row + shift, s + shift, c);
      }
      a.out[row * a.C + c] = acc;
    }
  }
}

// Thread (c, chunk k = blockIdx.y) sums rows [k * chunk_rows, (k+1) * chunk_rows) into
// part[k, j, c] (taps j < W) and part[k, W, c] (bias).
template <class T, bool kSilu>
__global__ void causal_conv1d_bwd_dw_v1_kernel(ConvArgs<T> a) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= a.C) return;
  const int64_t k = blockIdx.y, W = a.W;
  const int64_t r0 = k * a.chunk_rows, r1 = min(r0 + a.chunk_rows, a.rows);
  T* pk = a.part + k * (W + 1) * a.C;
  T bsum = 0;
  for (int64_t j0 = 0; j0 < W; j0 += kV1Taps) {
    T acc[kV1Taps];
#pragma unroll
    for (int q = 0; q < kV1Taps; ++q) acc[q] = 0;
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t t = row % a.T_;
      const T g = conv_dz_v1<T, kSilu>(a, row, t, c);
      if (j0 == 0) bsum += g;
#pragma unroll
      for (int q = 0; q < kV1Taps; ++q) {
        const int64_t back = W - 1 - (j0 + q);  // tap j0+q reads row - back
        if (j0 + q < W && t >= back) acc[q] += g * a.x[(row - back) * a.ldx + c];
      }
    }
#pragma unroll
    for (int q = 0; q < kV1Taps; ++q)
      if (j0 + q < W) pk[(j0 + q) * a.C + c] = acc[q];
  }
  pk[W * a.C + c] = bsum;
}

// ---- launchers ----

// Can v2 use kVec-wide loads: C and the row strides multiples of kVec, the
// row pointers 16-byte aligned.
template <class T>
bool vector_ok(int64_t C, std::initializer_list<int64_t> lds, std::initializer_list<const void*> ptrs) {
  constexpr int V = kVec<T>;
  if (C % V != 0) return false;
  for (int64_t ld : lds)
    if (ld % V != 0) return false;
  for (const void* p : ptrs)
    if (p && !aligned16(p)) return false;
  return true;
}

template <class T, int V, int KW, bool kSilu>
void launch_fwd_v2(const ConvArgs<T>& a, cudaStream_t s, int device) {
  auto kernel = causal_conv1d_fwd_v2_kernel<T, V, KW, kSilu>;
  const int64_t groups = (a.C + V - 1) / V;
  const int64_t gx = (groups + kGroupThreads - 1) / kGroupThreads;
  // About one full wave: as many blocks as the SMs hold at once, each thread
  // walking `per` rows (at least kMinFwdRows, so the window pays off).
  int per_sm = 0;
  LOGLIN_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kV2Threads, 0), kOp);
  const int64_t wave = int64_t(std::max(per_sm, 1)) * sm_count(device);
  const int64_t tiles_wanted = std::max<int64_t>(wave / gx, 1);
  int64_t per = (a.rows + tiles_wanted * kRangeThreads - 1) / (tiles_wanted * kRangeThreads);
  per = std::max(per, kMinFwdRows);
  const int64_t max_tiles = 65535;
  per = std::max(per, (a.rows + max_tiles * kRangeThreads - 1) / (max_tiles * kRangeThreads));
  const int64_t tiles = (a.rows + per * kRangeThreads - 1) / (per * kRangeThreads);
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(tiles));
  kernel<<<grid, dim3(kGroupThreads, kRangeThreads), 0, s>>>(a, per);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <class T, int V, int KW, bool kSilu>
void launch_bwd_v2(const ConvArgs<T>& a, bool want_dx, bool want_dw, int64_t chunks, cudaStream_t s) {
  const int64_t groups = (a.C + V - 1) / V;
  const dim3 grid(static_cast<unsigned>((groups + kGroupThreads - 1) / kGroupThreads), static_cast<unsigned>(chunks));
  const dim3 block(kGroupThreads, kRangeThreads);
  if (want_dx && want_dw) causal_conv1d_bwd_v2_kernel<T, V, KW, kSilu, true, true><<<grid, block, 0, s>>>(a);
  else if (want_dx) causal_conv1d_bwd_v2_kernel<T, V, KW, kSilu, true, false><<<grid, block, 0, s>>>(a);
  else causal_conv1d_bwd_v2_kernel<T, V, KW, kSilu, false, true><<<grid, block, 0, s>>>(a);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

// Calls f(V, KW, kSilu) with std::integral_constant tags for the v2 variant of
// these sizes: V-wide loads when vec, KW = 4 or 8 register taps for W <= KW.
template <class T, class F>
void dispatch_v2(bool vec, int W, bool silu, F&& f) {
  auto by_act = [&](auto v, auto kw) {
    if (silu) f(v, kw, std::true_type{});
    else f(v, kw, std::false_type{});
  };
  auto by_taps = [&](auto v) {
    if (W <= 4) by_act(v, std::integral_constant<int, 4>{});
    else by_act(v, std::integral_constant<int, kMaxRegTaps>{});
  };
  if constexpr (kVec<T> > 1)
    if (vec) return by_taps(std::integral_constant<int, kVec<T>>{});
  by_taps(std::integral_constant<int, 1>{});
}

}  // namespace

bool causal_conv1d_v2_takes(int64_t W, int64_t rows) { return W <= kMaxRegTaps && rows <= kMaxV2Rows; }

template <class T>
void causal_conv1d_fwd(const T* x, int64_t ldx, const T* wt, const T* bias, T* out, int64_t B, int64_t T_,
                       int64_t C, int64_t W, ConvActivation act, ConvKernel kernel, int device) {
  const int64_t rows = B * T_;
  if (rows == 0 || C == 0) return;
  cudaStream_t s = stream(device);
  const ConvArgs<T> a{x, ldx, nullptr, 0, wt, bias, out, nullptr, rows, T_, C, static_cast<int>(W), 0};
  const bool silu = act == ConvActivation::silu;
  LOGLIN_CHECK(kernel == ConvKernel::v1 || causal_conv1d_v2_takes(W, rows),
               "[{}] kernel v2 does not take W = {} over {} rows", kOp, W, rows);
  if (kernel == ConvKernel::v2) {
    const bool vec = vector_ok<T>(C, {ldx}, {x, out});
    dispatch_v2<T>(vec, static_cast<int>(W), silu, [&](auto v, auto kw, auto act) {
      launch_fwd_v2<T, decltype(v)::value, decltype(kw)::value, decltype(act)::value>(a, s, device);
    });
    return;
  }
  const int threads = v1_threads(C);
  const dim3 grid = v1_row_tile_grid(rows, C, threads);
  if (silu) causal_conv1d_fwd_v1_kernel<T, true><<<grid, threads, 0, s>>>(a);
  else causal_conv1d_fwd_v1_kernel<T, false><<<grid, threads, 0, s>>>(a);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

template <class T>
void causal_conv1d_bwd(const T* dy, int64_t ldy, const T* x, int64_t ldx, const T* wt, const T* bias, T* dx, T* dwt,
                       T* db, T* part, int64_t B, int64_t T_, int64_t C, int64_t W, ConvActivation act,
                       ConvKernel kernel, int device) {
  const bool want_dx = dx != nullptr, want_dw = dwt != nullptr || db != nullptr;
  if ((!want_dx && !want_dw) || C == 0) return;
  const int64_t rows = B * T_;
  if (rows == 0 && !want_dw) return;
  // With no rows every chunk is empty and writes zeros, as the cpu gives.
  const int64_t chunks = causal_conv1d_bwd_chunks(rows);
  cudaStream_t s = stream(device);
  const ConvArgs<T> a{x,    ldx, dy, ldy, wt, bias, dx, part, rows, T_, C, static_cast<int>(W),
                      causal_conv1d_bwd_chunk_rows(rows)};
  const bool silu = act == ConvActivation::silu;
  LOGLIN_CHECK(kernel == ConvKernel::v1 || causal_conv1d_v2_takes(W, rows),
               "[{}] kernel v2 does not take W = {} over {} rows", kOp, W, rows);
  if (kernel == ConvKernel::v2) {
    const bool vec = vector_ok<T>(C, {ldx, ldy}, {x, dy, dx});
    dispatch_v2<T>(vec, static_cast<int>(W), silu, [&](auto v, auto kw, auto act) {
      launch_bwd_v2<T, decltype(v)::value, decltype(kw)::value, decltype(act)::value>(a, want_dx, want_dw, chunks, s);
    });
  } else {
    const int threads = v1_threads(C);
    if (want_dx && rows > 0) {
      const dim3 grid = v1_row_tile_grid(rows, C, threads);
      if (silu) causal_conv1d_bwd_dx_v1_kernel<T, true><<<grid, threads, 0, s>>>(a);
      else causal_conv1d_bwd_dx_v1_kernel<T, false><<<grid, threads, 0, s>>>(a);
      LOGLIN_CUDA_LAUNCHED(kOp);
    }
    if (want_dw) {
      const dim3 grid(static_cast<unsigned>((C + threads - 1) / threads), static_cast<unsigned>(chunks));
      if (silu) causal_conv1d_bwd_dw_v1_kernel<T, true><<<grid, threads, 0, s>>>(a);
      else causal_conv1d_bwd_dw_v1_kernel<T, false><<<grid, threads, 0, s>>>(a);
      LOGLIN_CUDA_LAUNCHED(kOp);
    }
  }
  if (!want_dw) return;
  const int64_t ld = (W + 1) * C;
  if (dwt) column_sum(part, chunks, ld, W * C, dwt, s, kOp);
  if (db) column_sum(part + W * C, chunks, ld, C, db, s, kOp);
}

template void causal_conv1d_fwd<float>(const float*, int64_t, const float*, const float*, float*, int64_t, int64_t,
                                       int64_t, int64_t, ConvActivation, ConvKernel, int);
template void causal_conv1d_fwd<double>(const double*, int64_t, const double*, const double*, double*, int64_t,
                                        int64_t, int64_t, int64_t, ConvActivation, ConvKernel, int);
template void causal_conv1d_bwd<float>(const float*, int64_t, const float*, int64_t, const float*, const float*,
                                       float*, float*, float*, float*, int64_t, int64_t, int64_t, int64_t,
                                       ConvActivation, ConvKernel, int);
template void causal_conv1d_bwd<double>(const double*, int64_t, const double*, int64_t, const double*,
                                        const double*, double*, double*, double*, double*, int64_t, int64_t, int64_t,
                                        int64_t, ConvActivation, ConvKernel, int);

}  // namespace loglin::cuda

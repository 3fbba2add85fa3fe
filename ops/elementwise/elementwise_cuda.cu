// The elementwise kernels: one family for every op, templated on the functor
// of elementwise_math.h that holds the op's scalar math.
//
//   map_contiguous_kernel   out[i] = f(in0[i], ..., inK-1[i]) over contiguous
//                           arrays: unary forward (K = 1), binary on equal
//                           contiguous shapes (K = 2), unary backward (K = 3).
//                           16-byte vector loads (4 floats / 2 doubles per
//                           thread) when every pointer is aligned, then a
//                           scalar tail.
//   binary_row_kernel       [R, D] op [D] (or [D] op [R, D]): the bias-like
//                           broadcast; vectorised when D and the pointers allow.
//   binary_inner_kernel     strided or broadcast operands whose innermost dim
//                           is contiguous (stride 1) or broadcast (stride 0),
//                           like a narrow()ed view times a per-row scale:
//                           N elements per offset computation, 16-byte loads.
//   binary_strided_kernel   anything else numpy broadcasting gives, through
//                           the merged StridedLayouts.
//
// Every loop is grid-stride, so any n runs on a capped grid.
#include <type_traits>

#include "core/cuda_launch.cuh"
#include "ops/elementwise/elementwise_cuda.h"

namespace loglin::cuda {
namespace {

template <class T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

// Elements of T in one 16-byte load.
template <class T>
constexpr int kVec = 16 / static_cast<int>(sizeof(T));

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

template <class T, int K>
struct Inputs {
  const T* p[K];
};

template <class F, class T, int N, int K>
__device__ __forceinline__ T apply_pack(const F& f, const Pack<T, N> (&in)[K], int j) {
  if constexpr (K == 1) return f(in[0].v[j]);
  else if constexpr (K == 2) return f(in[0].v[j], in[1].v[j]);
  else return f(in[0].v[j], in[1].v[j], in[2].v[j]);
}

template <class F, class T, int K>
__device__ __forceinline__ T apply_at(const F& f, const Inputs<T, K>& in, int64_t i) {
  if constexpr (K == 1) return f(in.p[0][i]);
  else if constexpr (K == 2) return f(in.p[0][i], in.p[1][i]);
  else return f(in.p[0][i], in.p[1][i], in.p[2][i]);
}

// Requires out and every in.p[k] aligned to sizeof(Pack<T, N>) when N > 1.
template <int N, class T, int K, class F>
__global__ void map_contiguous_kernel(T* __restrict__ out, Inputs<T, K> in, int64_t n, F f) {
  using P = Pack<T, N>;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = n / N;
  for (int64_t p = tid; p < packs; p += stride) {
    P v[K];
#pragma unroll
    for (int k = 0; k < K; ++k) v[k] = reinterpret_cast<const P*>(in.p[k])[p];
    P o;
#pragma unroll
    for (int j = 0; j < N; ++j) o.v[j] = apply_pack(f, v, j);
    reinterpret_cast<P*>(out)[p] = o;
  }
  // Fewer than N elements are left; with N == 1 there are none.
  for (int64_t i = packs * N + tid; i < n; i += stride) out[i] = apply_at(f, in, i);
}

template <class T, int K, class F>
void launch_map(T* out, const Inputs<T, K>& in, int64_t n, const F& f, const char* name, int device) {
  if (n == 0) return;
  cudaStream_t s = stream(device);
  constexpr int N = kVec<T>;
  bool vec = n >= N && aligned16(out);
  for (int k = 0; k < K; ++k) vec = vec && aligned16(in.p[k]);
  if (vec)
    map_contiguous_kernel<N><<<blocks_for(n / N), kThreads, 0, s>>>(out, in, n, f);
  else
    map_contiguous_kernel<1><<<blocks_for(n), kThreads, 0, s>>>(out, in, n, f);
  LOGLIN_CUDA_LAUNCHED(name);
}

// out ([rows, cols] contiguous) = f(full, row) with `row` ([cols]) repeated
// over the rows; kRowIsB says which side of f the row is on. Counted in packs
// of N elements, cols % N == 0. I is uint32_t when every index fits, because
// the modulo is the costliest instruction here.
template <int N, bool kRowIsB, class I, class T, class F>
__global__ void binary_row_kernel(T* __restrict__ out, const T* __restrict__ full, const T* __restrict__ row,
                                  I packs, I row_packs, F f) {
  using P = Pack<T, N>;
  const P* fp = reinterpret_cast<const P*>(full);
  const P* rp = reinterpret_cast<const P*>(row);
  P* op = reinterpret_cast<P*>(out);
  const I stride = static_cast<I>(gridDim.x) * blockDim.x;
  for (I p = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; p < packs; p += stride) {
    const P u = fp[p];
    const P r = rp[p % row_packs];
    P o;
#pragma unroll
    for (int j = 0; j < N; ++j) o.v[j] = kRowIsB ? f(u.v[j], r.v[j]) : f(r.v[j], u.v[j]);
    op[p] = o;
  }
}

template <class T, class F>
void launch_row(T* out, const T* full, const T* row, int64_t rows, int64_t cols, bool row_is_b, const F& f,
                cudaStream_t s) {
  constexpr int N = kVec<T>;
  const int64_t n = rows * cols;
  const bool vec = cols % N == 0 && aligned16(out) && aligned16(full) && aligned16(row);
  // p + stride stays below 2^32 when n < 2^31 (stride is at most 2^28).
  const bool small = n <= INT32_MAX;
  auto go = [&](auto n_tag, auto small_tag, auto b_tag) {
    constexpr int kN = decltype(n_tag)::value;
    constexpr bool kSmall = decltype(small_tag)::value;
    constexpr bool kB = decltype(b_tag)::value;
    using I = std::conditional_t<kSmall, uint32_t, int64_t>;
    const int64_t packs = n / kN;
    binary_row_kernel<kN, kB, I><<<blocks_for(packs), kThreads, 0, s>>>(out, full, row, static_cast<I>(packs),
                                                                       static_cast<I>(cols / kN), f);
  };
  auto with_b = [&](auto n_tag, auto small_tag) {
    if (row_is_b) go(n_tag, small_tag, std::true_type{});
    else go(n_tag, small_tag, std::false_type{});
  };
  auto with_small = [&](auto n_tag) {
    if (small) with_b(n_tag, std::true_type{});
    else with_b(n_tag, std::false_type{});
  };
  if (vec) with_small(std::integral_constant<int, N>{});
  else with_small(std::integral_constant<int, 1>{});
}

template <class I, class T, class F>
__global__ void binary_strided_kernel(T* __restrict__ out, const T* a, StridedLayout la, const T* b, StridedLayout lb,
                                      I n, F f) {
  const I stride = static_cast<I>(gridDim.x) * blockDim.x;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const StridedLayout* const ls[2] = {&la, &lb};
    int64_t off[2];
    offsets_of<I, 2>(i, ls, off);
    out[i] = f(a[off[0]], b[off[1]]);
  }
}

// Packs of N outputs along the innermost dim (its extent is a multiple of N,
// so a pack never crosses a row). kAVec / kBVec: that operand has stride 1
// there (a 16-byte load, aligned because every other stride is a multiple of
// N) rather than 0 (one element repeated).
template <int N, bool kAVec, bool kBVec, class I, class T, class F>
__global__ void binary_inner_kernel(T* __restrict__ out, const T* a, StridedLayout la, const T* b, StridedLayout lb,
                                    I packs, F f) {
  using P = Pack<T, N>;
  const I stride = static_cast<I>(gridDim.x) * blockDim.x;
  for (I p = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; p < packs; p += stride) {
    const StridedLayout* const ls[2] = {&la, &lb};
    int64_t off[2];
    offsets_of<I, 2>(p * N, ls, off);
    P va, vb, o;
    if constexpr (kAVec) va = *reinterpret_cast<const P*>(a + off[0]);
    else
#pragma unroll
      for (int j = 0; j < N; ++j) va.v[j] = a[off[0]];
    if constexpr (kBVec) vb = *reinterpret_cast<const P*>(b + off[1]);
    else
#pragma unroll
      for (int j = 0; j < N; ++j) vb.v[j] = b[off[1]];
#pragma unroll
    for (int j = 0; j < N; ++j) o.v[j] = f(va.v[j], vb.v[j]);
    reinterpret_cast<P*>(out)[p] = o;
  }
}

// Whether binary_inner_kernel<N> can take these layouts (inner_packs,
// cuda_launch.cuh, for each operand; out is contiguous).
template <int N, class T>
bool inner_packs_fit(const T* out, const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb) {
  return aligned16(out) && inner_packs(a, la, N, 16) != InnerPacks::no && inner_packs(b, lb, N, 16) != InnerPacks::no;
}

template <class T, class F>
void launch_inner(T* out, const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb, int64_t n,
                  const F& f, cudaStream_t s) {
  constexpr int N = kVec<T>;
  const int64_t packs = n / N;
  auto go = [&](auto a_tag, auto b_tag) {
    constexpr bool kA = decltype(a_tag)::value, kB = decltype(b_tag)::value;
    // p * N stays below 2^32 when n < 2^31 (a grid-stride step is at most 2^28 packs).
    if (n <= INT32_MAX)
      binary_inner_kernel<N, kA, kB, uint32_t><<<blocks_for(packs), kThreads, 0, s>>>(out, a, la, b, lb,
                                                                                      static_cast<uint32_t>(packs), f);
    else
      binary_inner_kernel<N, kA, kB, int64_t><<<blocks_for(packs), kThreads, 0, s>>>(out, a, la, b, lb, packs, f);
  };
  const bool a_vec = la.strides[la.ndim - 1] == 1, b_vec = lb.strides[lb.ndim - 1] == 1;
  if (a_vec && b_vec) go(std::true_type{}, std::true_type{});
  else if (a_vec) go(std::true_type{}, std::false_type{});
  else if (b_vec) go(std::false_type{}, std::true_type{});
  else go(std::false_type{}, std::false_type{});
}

bool is_flat(const StridedLayout& l) { return l.ndim == 0 || (l.ndim == 1 && l.strides[0] == 1); }

}  // namespace

template <class T, class Op>
void elementwise_unary(const T* x, T* y, int64_t n, Op op, const char* name, int device) {
  launch_map(y, Inputs<T, 1>{{x}}, n, op, name, device);
}

template <class T, class Op>
void elementwise_unary_backward(const T* x, const T* y, const T* dy, T* dx, int64_t n, Op op, const char* name,
                                int device) {
  launch_map(dx, Inputs<T, 3>{{x, y, dy}}, n, ew::BackwardOf<Op>{op}, name, device);
}

template <class T, class Op>
void elementwise_binary(T* out, const T* a, const StridedLayout& la, const T* b, const StridedLayout& lb, int64_t n,
                        Op op, const char* name, int device) {
  if (n == 0) return;
  if (is_flat(la) && is_flat(lb)) {
    launch_map(out, Inputs<T, 2>{{a, b}}, n, op, name, device);
    return;
  }
  cudaStream_t s = stream(device);
  if (la.ndim == 2 && la.strides[1] == 1 && lb.strides[1] == 1) {
    const int64_t rows = la.shape[0], cols = la.shape[1];
    if (la.strides[0] == cols && lb.strides[0] == 0) {
      launch_row(out, a, b, rows, cols, /*row_is_b=*/true, op, s);
      LOGLIN_CUDA_LAUNCHED(name);
      return;
    }
    if (lb.strides[0] == cols && la.strides[0] == 0) {
      launch_row(out, b, a, rows, cols, /*row_is_b=*/false, op, s);
      LOGLIN_CUDA_LAUNCHED(name);
      return;
    }
  }
  if (inner_packs_fit<kVec<T>>(out, a, la, b, lb)) {
    launch_inner(out, a, la, b, lb, n, op, s);
    LOGLIN_CUDA_LAUNCHED(name);
    return;
  }
  if (n <= INT32_MAX)
    binary_strided_kernel<uint32_t><<<blocks_for(n), kThreads, 0, s>>>(out, a, la, b, lb, static_cast<uint32_t>(n), op);
  else
    binary_strided_kernel<int64_t><<<blocks_for(n), kThreads, 0, s>>>(out, a, la, b, lb, n, op);
  LOGLIN_CUDA_LAUNCHED(name);
}

#define LOGLIN_EW_INSTANTIATE_UNARY_T(T, Op)                                                                      \
  template void elementwise_unary<T, ew::Op>(const T*, T*, int64_t, ew::Op, const char*, int);                     \
  template void elementwise_unary_backward<T, ew::Op>(const T*, const T*, const T*, T*, int64_t, ew::Op,           \
                                                      const char*, int);
#define LOGLIN_EW_INSTANTIATE_UNARY(Op) \
  LOGLIN_EW_INSTANTIATE_UNARY_T(float, Op) LOGLIN_EW_INSTANTIATE_UNARY_T(double, Op)
LOGLIN_EW_UNARY_OPS(LOGLIN_EW_INSTANTIATE_UNARY)

#define LOGLIN_EW_INSTANTIATE_BINARY_T(T, Op)                                                                    \
  template void elementwise_binary<T, ew::Op>(T*, const T*, const StridedLayout&, const T*, const StridedLayout&, \
                                              int64_t, ew::Op, const char*, int);
#define LOGLIN_EW_INSTANTIATE_BINARY(Op) \
  LOGLIN_EW_INSTANTIATE_BINARY_T(float, Op) LOGLIN_EW_INSTANTIATE_BINARY_T(double, Op)
LOGLIN_EW_BINARY_OPS(LOGLIN_EW_INSTANTIATE_BINARY)

}  // namespace loglin::cuda

// RMSNorm (plain, or gated by silu(z) as rms_norm_gated) on f32 rows of up
// to 2048 elements, one warp per row: the row's float4s stay in registers
// between the sum of squares and the output, the row sums are warp shuffles
// (no block barriers), and every load and store is 16 bytes. The block-per-
// row kernels of rms_norm_cuda.cu and rms_norm_gated_cuda.cu take the other
// shapes, f64, and unaligned pointers. Sums run in a fixed order per row and
// dweight keeps the two-stage scheme (per-block partial rows, then
// cuda::column_sum), so results are the same bits from run to run.
#pragma once
#include <algorithm>
#include <initializer_list>
#include <type_traits>

#include "ops/norm/norm_reduce.cuh"
#include "ops/norm/rms_norm_gated_math.h"

namespace loglin::cuda::norm {

constexpr int kWarpRowsThreads = 256;  // 8 rows in flight per block
constexpr int kWarpRowsMaxD = 2048;    // forward: 16 float4 per lane
// The backward holds dy * gate * w and the dweight sums in registers: past
// 8 float4s a lane that leaves one block per SM, and the block-per-row
// kernels measured faster (H100, D = 1536: 290 against 388 us a call).
constexpr int kWarpRowsMaxDBackward = 1024;

// Whether the warp-per-row kernels take a float problem: D a multiple of 4 up
// to max_d, every row 16-byte aligned.
inline bool warp_rows_fit(int64_t D, int64_t max_d, int64_t z_row_stride, std::initializer_list<const void*> ptrs) {
  if (D % 4 != 0 || D > max_d || z_row_stride % 4 != 0) return false;
  for (const void* p : ptrs)
    if (p && reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

__device__ __forceinline__ float4 ld4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void st4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ float at(const float4& v, int e) { return e == 0 ? v.x : e == 1 ? v.y : e == 2 ? v.z : v.w; }
__device__ __forceinline__ void set(float4& v, int e, float x) {
  if (e == 0) v.x = x;
  else if (e == 1) v.y = x;
  else if (e == 2) v.z = x;
  else v.w = x;
}

// Lane l owns the float4s at columns 4 (l + 32 i), i < kPer.
template <bool kGated, int kPer>
__global__ void __launch_bounds__(kWarpRowsThreads) rms_norm_warp_fwd_kernel(const float* x, const float* z,
                                                                             int64_t z_row_stride, const float* w,
                                                                             float* y, float* rstd, int64_t rows,
                                                                             int D, double eps) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (kWarpRowsThreads / 32);
  for (int64_t r = int64_t(blockIdx.x) * (kWarpRowsThreads / 32) + (threadIdx.x >> 5); r < rows; r += warps) {
    float4 xv[kPer];
    float ss = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int c = 4 * (lane + 32 * i);
      if (c < D) {
        xv[i] = ld4(x + r * D + c);
        ss += xv[i].x * xv[i].x + xv[i].y * xv[i].y + xv[i].z * xv[i].z + xv[i].w * xv[i].w;
      }
    }
    ss = warp_sum(ss);
    const float rs = static_cast<float>(1.0 / sqrt(static_cast<double>(ss) / static_cast<double>(D) + eps));
    if (lane == 0) rstd[r] = rs;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int c = 4 * (lane + 32 * i);
      if (c >= D) continue;
      const float4 wv = w ? ld4(w + c) : make_float4(1.0f, 1.0f, 1.0f, 1.0f);
      float4 o;
      if constexpr (kGated) {
        const float4 zv = ld4(z + r * z_row_stride + c);
#pragma unroll
        for (int e = 0; e < 4; ++e) set(o, e, at(xv[i], e) * rs * at(wv, e) * gate::silu(at(zv, e)).value);
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) set(o, e, at(xv[i], e) * rs * at(wv, e));
      }
      st4(y + r * D + c, o);
    }
  }
}

// Block b takes rows 8 b + warp, then + 8 gridDim.x, ...; each lane sums its
// columns' dweight terms over its warp's rows in registers, and the block's
// warps add theirs into row b of dw_part one after another. dx needs the
// row's dot product first: the per-column dy * gate * w stays in registers
// and x is read again (from L1) for the second pass.
template <bool kGated, int kPer>
__global__ void __launch_bounds__(kWarpRowsThreads) rms_norm_warp_bwd_kernel(
    const float* x, const float* z, int64_t z_row_stride, const float* w, const float* rstd, const float* dy,
    float* dx, float* dz, float* dw_part, int64_t rows, int D) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t warps = int64_t(gridDim.x) * (kWarpRowsThreads / 32);
  float4 dw_acc[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) dw_acc[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  for (int64_t r = int64_t(blockIdx.x) * (kWarpRowsThreads / 32) + warp; r < rows; r += warps) {
    const float rs = rstd[r];
    float4 gw[kPer];
    float dot = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int c = 4 * (lane + 32 * i);
      if (c >= D) continue;
      const float4 xv = ld4(x + r * D + c), gv = ld4(dy + r * D + c);
      const float4 wv = w ? ld4(w + c) : make_float4(1.0f, 1.0f, 1.0f, 1.0f);
      float4 zv = make_float4(0.0f, 0.0f, 0.0f, 0.0f), dzv = zv;
      if constexpr (kGated) zv = ld4(z + r * z_row_stride + c);
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float xhat = at(xv, e) * rs;
        float gn = at(gv, e);  // the gradient reaching the plain RMSNorm's output
        if constexpr (kGated) {
          const gate::Silu<float> s = gate::silu(at(zv, e));
          set(dzv, e, gn * xhat * at(wv, e) * s.grad);
          gn *= s.value;
        }
        set(dw_acc[i], e, at(dw_acc[i], e) + gn * xhat);
        const float g_w = gn * at(wv, e);
        set(gw[i], e, g_w);
        dot += g_w * xhat;
      }
      if constexpr (kGated)
        if (dz) st4(dz + r * D + c, dzv);
    }
    if (!dx) continue;
    const float cdot = warp_sum(dot) / static_cast<float>(D);
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int c = 4 * (lane + 32 * i);
      if (c >= D) continue;
      const float4 xv = ld4(x + r * D + c);
      float4 o;
#pragma unroll
      for (int e = 0; e < 4; ++e) set(o, e, rs * (at(gw[i], e) - at(xv, e) * rs * cdot));
      st4(dx + r * D + c, o);
    }
  }
  if (!dw_part) return;
  float* part = dw_part + int64_t(blockIdx.x) * D;
  for (int k = 0; k < kWarpRowsThreads / 32; ++k) {
    if (warp == k)
#pragma unroll
      for (int i = 0; i < kPer; ++i) {
        const int c = 4 * (lane + 32 * i);
        if (c >= D) continue;
        float4 p = k == 0 ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : ld4(part + c);
        p.x += dw_acc[i].x, p.y += dw_acc[i].y, p.z += dw_acc[i].z, p.w += dw_acc[i].w;
        st4(part + c, p);
      }
    __syncthreads();  // warp k's sums are in before warp k + 1 adds
  }
}

// The launchers: kPer = the float4s a lane needs, rounded up to a compiled
// width (the backward's widths stop at 8: kWarpRowsMaxDBackward).
template <bool kWide, class F>
void with_warp_rows_width(int64_t D, F&& f) {
  const int64_t per = (D / 4 + 31) / 32;
  if (per <= 2) f(std::integral_constant<int, 2>{});
  else if (per <= 4) f(std::integral_constant<int, 4>{});
  else if (per <= 6) f(std::integral_constant<int, 6>{});
  else if (!kWide || per <= 8) f(std::integral_constant<int, 8>{});
  else if constexpr (kWide) {
    if (per <= 12) f(std::integral_constant<int, 12>{});
    else f(std::integral_constant<int, 16>{});
  }
}

template <bool kGated>
void rms_norm_warp_fwd(const float* x, const float* z, int64_t z_row_stride, const float* w, float* y, float* rstd,
                       int64_t rows, int64_t D, double eps, cudaStream_t s) {
  const int64_t blocks = std::clamp<int64_t>((rows + 7) / 8, 1, int64_t{1} << 20);
  with_warp_rows_width<true>(D, [&](auto per) {
    rms_norm_warp_fwd_kernel<kGated, decltype(per)::value><<<static_cast<unsigned>(blocks), kWarpRowsThreads, 0, s>>>(
        x, z, z_row_stride, w, y, rstd, rows, static_cast<int>(D), eps);
  });
}

// `blocks` is norm_bwd_blocks(rows, D): dw_part has that many rows.
template <bool kGated>
void rms_norm_warp_bwd(const float* x, const float* z, int64_t z_row_stride, const float* w, const float* rstd,
                       const float* dy, float* dx, float* dz, float* dw_part, int64_t rows, int64_t D, int64_t blocks,
                       cudaStream_t s) {
  with_warp_rows_width<false>(D, [&](auto per) {
    rms_norm_warp_bwd_kernel<kGated, decltype(per)::value><<<static_cast<unsigned>(blocks), kWarpRowsThreads, 0, s>>>(
        x, z, z_row_stride, w, rstd, dy, dx, dz, dw_part, rows, static_cast<int>(D));
  });
}

}  // namespace loglin::cuda::norm

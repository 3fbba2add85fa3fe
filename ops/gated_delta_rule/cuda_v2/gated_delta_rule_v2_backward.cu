// The backward of v2 for the plain gated delta rule: the reverse mode of the
// chunked forward (gated_delta_rule_v2.cu), on TF32 tensor cores, with the
// algebra of ../cpu/chunk_backward_cpu.cpp (same names). Per call, whatever T:
//   1. the forward's chunk table and prep kernel again (W, K~, U per chunk);
//   2. the forward's scan, storing the state S entering every chunk (h);
//   3. gdr_rscan_v2_kernel, grid (N H, V / 64): the chunks in reverse,
//      carrying dS, the adjoint of the state after the chunk (stored per
//      chunk as dh): dD = K~ dS, then dS <- exp(gamma_last) dS + Q~^T dO - W^T dD;
//      what is left is the initial state's gradient;
//   4. gdr_chunk_bwd_v2_kernel, grid (chunks, H), 256 threads, every chunk
//      in parallel, from S and dS' = dh:
//        D = U - W S, dD = K~ dS' (per V panel, kept in the workspace);
//        dV = (Aqk Tm diag beta)^T dO + diag(beta) Tm^T dD, and d(Aqk Tm diag beta) = dO V^T;
//        dQ~ = dO S^T, dW = -dD S^T, dK~ = D dS'^T (per K panel, over the V panels);
//        dgamma_last += exp(gamma_last) <S, dS'>;
//        then the WY form backwards (Q~, W, K~, the solve, M, Aqk, Gamma) to
//        dq, dk (per head), dbeta and dg (the reverse cumulative sum of dgamma);
//   5. dq, dk summed over each group's heads in head order (../cuda/heads_to_groups.cuh;
//      a copy when G = H). No atomics: bitwise reproducible.
// The log-linear form's backward is v1's (kernel_versions.cpp).
#include "ops/gated_delta_rule/cuda/heads_to_groups.cuh"
#include "ops/gated_delta_rule/cuda_v2/chunk_tiles.h"
#include "ops/gated_delta_rule/cuda_v2/gated_delta_rule_v2.h"
#include "ops/gated_delta_rule/cuda_v2/tiles.cuh"

namespace loglin::gdr::v2 {
namespace {

using namespace dev;

constexpr const char* kOp = "gated_delta_rule";
constexpr int kScanThreads = 128;
constexpr int kBwdTiles = 12;

struct BackWork {
  ChunkTiles t;
  float *h = nullptr, *dh = nullptr;                  // [H, nch, K, V]: S entering, dS leaving each chunk
  float* dslot = nullptr;                             // [N, H, K, V]: the reverse scan's dS
  float *dg_d = nullptr, *dg_dd = nullptr, *dg_do = nullptr;  // [H, nch, C, V]: D, dD, dO (zero past the end)
  float *dq_head = nullptr, *dk_head = nullptr;       // [rows, H, K]
};

BackWork carve_back(void* base, const GpuProblem& p, size_t* bytes) {
  WorkspaceCarver c(base);
  BackWork w;
  w.t = carve_tiles(c, p, false);
  const int64_t hkv = p.H * w.t.nch * p.K * p.V, tv = p.H * w.t.nch * kC * p.V;
  w.h = c.take<float>(hkv);
  w.dh = c.take<float>(hkv);
  w.dslot = c.take<float>(p.n_seqs * p.H * p.K * p.V);
  w.dg_d = c.take<float>(tv);
  w.dg_dd = c.take<float>(tv);
  w.dg_do = c.take<float>(tv);
  w.dq_head = c.take<float>(p.rows * p.H * p.K);
  w.dk_head = c.take<float>(p.rows * p.H * p.K);
  if (bytes) *bytes = c.used();
  return w;
}

// ---- 3. the reverse scan ----

__global__ void __launch_bounds__(kScanThreads) gdr_rscan_v2_kernel(GpuProblem p, GpuBackward<float> b, BackWork w) {
  extern __shared__ __align__(128) float smem[];
  float* sO = smem;        // dO of the chunk's rows, this block's 64 columns (zero past the end)
  float* sD = sO + kTile;  // dD = K~ dS

  const int64_t sid = blockIdx.x / p.H, h = blockIdx.x % p.H, v0 = blockIdx.y * int64_t(kVp);
  const GpuSeq sq = p.seqs[sid];
  const int tid = threadIdx.x, warp = tid / 32;
  const int64_t K = p.K, V = p.V, kv = K * V, state_off = (sid * p.H + h) * kv;
  float* dS = w.dslot + state_off + v0;
  const int64_t nchunks = chunks_of(sq), cid0 = w.t.chunk_begin[sid];

  for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
    const int64_t at = (e / kVp) * V + e % kVp;
    dS[at] = b.dstate_out ? b.dstate_out[state_off + v0 + at] : 0.f;
  }
  for (int64_t i = nchunks - 1; i >= 0; --i) {
    int64_t r0, r1;
    chunk_rows(sq, i, r0, r1);
    const int64_t nr = r1 - r0, grow0 = sq.row0 + r0, cid = cid0 + i;
    const float* qt = w.t.qt + (h * w.t.nch + cid) * kC * K;
    const float* wt = w.t.w + (h * w.t.nch + cid) * kC * K;
    const float* kt = w.t.kt + (h * w.t.nch + cid) * kC * K;
    const float decay = w.t.decay[h * w.t.nch + cid];
    __syncthreads();  // dS written (the initial fill or the previous chunk)
    float* dh = w.dh + (h * w.t.nch + cid) * kv + v0;
    for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
      const int64_t at = (e / kVp) * V + e % kVp;
      dh[at] = dS[at];
    }
    for (int e = tid; e < kC * kVp; e += blockDim.x) {
      const int r = e / kVp, c = e % kVp;
      sO[r * kLd + c] = r < nr ? b.dout[(grow0 + r) * p.H * V + h * V + v0 + c] : 0.f;
    }
    // dD = K~ dS: warp w owns rows 16 w .. 16 w + 15.
    {
      FragC acc[4];
      for (int tj = 0; tj < 4; ++tj) wmma::fill_fragment(acc[tj], 0.f);
      for (int64_t s = 0; s < K; s += 8) {
        FragA<Row> fa;
        wmma::load_matrix_sync(fa, kt + warp * 16 * K + s, static_cast<unsigned>(K));
        round_tf32(fa);
        for (int tj = 0; tj < 4; ++tj) {
          FragB<Row> fb;
          wmma::load_matrix_sync(fb, dS + s * V + tj * 16, static_cast<unsigned>(V));
          round_tf32(fb);
          wmma::mma_sync(acc[tj], fa, fb, acc[tj]);
        }
      }
      for (int tj = 0; tj < 4; ++tj)
        wmma::store_matrix_sync(sD + warp * 16 * kLd + tj * 16, acc[tj], kLd, wmma::mem_row_major);
    }
    __syncthreads();  // sD and sO complete; every read of dS done
    // dS <- decay dS + Q~^T dO - W^T dD.
    for (int64_t tk = warp; tk < K / 16; tk += kScanThreads / 32) {
      for (int tj = 0; tj < 4; ++tj) {
        FragC st;
        float* at = dS + tk * 16 * V + tj * 16;
        wmma::load_matrix_sync(st, at, static_cast<unsigned>(V), wmma::mem_row_major);
        for (int x = 0; x < st.num_elements; ++x) st.x[x] *= decay;
        mma_acc<Col, Row>(st, qt + tk * 16, K, sO + tj * 16, kLd, kC);
        mma_acc<Col, Row>(st, wt + tk * 16, K, sD + tj * 16, kLd, kC, -1.f);
        wmma::store_matrix_sync(at, st, static_cast<unsigned>(V), wmma::mem_row_major);
      }
    }
  }
  if (b.dstate_in) {
    __syncthreads();
    for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
      const int64_t at = (e / kVp) * V + e % kVp;
      b.dstate_in[state_off + v0 + at] = dS[at];
    }
  }
}

// ---- 4. the chunk backward ----

// Row r of a 64 x 64 shared tile dotted with row r of another, for r = tid / 4
// (four lanes per row, 16 columns each), summed over the four lanes.
__device__ __forceinline__ float row_dot(const float* a, const float* b) {
  const int r = threadIdx.x / 4, part = threadIdx.x % 4;
  float s = 0.f;
  for (int c = part * 16; c < part * 16 + 16; ++c) s += a[r * kLd + c] * b[r * kLd + c];
  s += __shfl_xor_sync(0xffffffffu, s, 1);
  s += __shfl_xor_sync(0xffffffffu, s, 2);
  return s;
}

__global__ void __launch_bounds__(kLocalThreads) gdr_chunk_bwd_v2_kernel(GpuProblem p, GpuBackward<float> b,
                                                                           BackWork w) {
  extern __shared__ __align__(128) float smem[];
  float* sP1 = smem;
  float* sP2 = sP1 + kTile;
  float* sP3 = sP2 + kTile;
  float* sKK = sP3 + kTile;   // K K^T, later dKK
  float* sQK = sKK + kTile;   // Q K^T, later dQK
  float* sAqk = sQK + kTile;  // Aqk
  float* sTm = sAqk + kTile;  // Tm
  float* sBm = sTm + kTile;   // Aqk Tm diag(beta), later a Q panel
  float* sdB = sBm + kTile;   // d(Aqk Tm diag beta), later scratch
  float* sdTm = sdB + kTile;  // dTm
  float* sX = sdTm + kTile;
  float* sY = sX + kTile;
  __shared__ float gam[kC], bet[kC], eg[kC], el[kC], dbet[kC], dgam[kC], red[kLocalThreads / 32];

  const int64_t cid = blockIdx.x, h = blockIdx.y;
  ChunkAt ch;
  const GpuForward<float>& f = b.fwd;
  if (!locate_chunk(p, w.t.chunk_begin, cid, ch)) return;
  const int64_t nr = ch.nr, grow0 = ch.grow0, K = p.K, V = p.V;
  const int64_t grp = h / (p.H / p.G), sqk = p.G * K;
  const int tid = threadIdx.x, warp = tid / 32;
  const float* qh = f.q + grow0 * sqk + grp * K;
  const float* kh = f.k + grow0 * sqk + grp * K;
  const float* vh = f.v + grow0 * p.H * V + h * V;
  const int64_t tile_k = (h * w.t.nch + cid) * kC * K, tile_v = (h * w.t.nch + cid) * kC * V;
  const int64_t tile_s = (h * w.t.nch + cid) * K * V;
  const float* wt = w.t.w + tile_k;
  const float* kt = w.t.kt + tile_k;
  const float* S = w.h + tile_s;
  const float* dS = w.dh + tile_s;
  const float decay = w.t.decay[h * w.t.nch + cid];

  // A. The chunk's WY pieces (M in sP3, then free).
  chunk_local(p, f, ch, h, ChunkVecs{gam, bet, eg, el}, sP1, sP2, sKK, sQK, sP3, sAqk, sTm);
  // B. Bm = Aqk Tm diag(beta); the adjoints start at zero.
  for_my_tiles([&](int ti, int tj) {
    tile_product<Row, Row>(sBm + ti * 16 * kLd + tj * 16, false, sAqk + ti * 16 * kLd, kLd, sTm + tj * 16, kLd, kC);
  });
  for (int e = tid; e < kC * kC; e += blockDim.x) {
    sdB[(e / kC) * kLd + e % kC] = 0.f;
    sdTm[(e / kC) * kLd + e % kC] = 0.f;
  }
  if (tid < kC) dbet[tid] = 0.f, dgam[tid] = 0.f;
  __syncthreads();
  for (int e = tid; e < kC * kC; e += blockDim.x) sBm[(e / kC) * kLd + e % kC] *= bet[e % kC];

  // C. Per V panel: D, dD (kept), dO (kept, zero past the end), dV, dB, dTm (unscaled), <S, dS'>.
  float sdot = 0.f;
  for (int64_t v0 = 0; v0 < V; v0 += kVp) {
    __syncthreads();
    load_panel(sP1, b.dout + grow0 * p.H * V + h * V, p.H * V, nr, v0, V);
    load_panel(sP2, vh, p.H * V, nr, v0, V);
    for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
      const int64_t at = (e / kVp) * V + v0 + e % kVp;
      sdot += S[at] * dS[at];
    }
    __syncthreads();
    for_my_tiles([&](int ti, int tj) {
      FragC dd, d;
      wmma::fill_fragment(dd, 0.f);
      mma_acc<Row, Row>(dd, kt + ti * 16 * K, K, dS + v0 + tj * 16, V, static_cast<int>(K));
      wmma::load_matrix_sync(d, w.t.u + tile_v + ti * 16 * V + v0 + tj * 16, static_cast<unsigned>(V),
                             wmma::mem_row_major);
      mma_acc<Row, Row>(d, wt + ti * 16 * K, K, S + v0 + tj * 16, V, static_cast<int>(K), -1.f);
      wmma::store_matrix_sync(sP3 + ti * 16 * kLd + tj * 16, dd, kLd, wmma::mem_row_major);
      wmma::store_matrix_sync(w.dg_dd + tile_v + ti * 16 * V + v0 + tj * 16, dd, static_cast<unsigned>(V),
                              wmma::mem_row_major);
      wmma::store_matrix_sync(w.dg_d + tile_v + ti * 16 * V + v0 + tj * 16, d, static_cast<unsigned>(V),
                              wmma::mem_row_major);
      // dB += dO V^T, dTm += dD V^T (scaled by beta after the loop).
      tile_product<Row, Col>(sdB + ti * 16 * kLd + tj * 16, true, sP1 + ti * 16 * kLd, kLd, sP2 + tj * 16 * kLd, kLd,
                             kC);
    });
    for (int e = tid; e < kC * kVp; e += blockDim.x)
      w.dg_do[tile_v + (e / kVp) * V + v0 + e % kVp] = sP1[(e / kVp) * kLd + e % kVp];
    __syncthreads();  // sP3 = dD complete
    for_my_tiles([&](int ti, int tj) {
      tile_product<Row, Col>(sdTm + ti * 16 * kLd + tj * 16, true, sP3 + ti * 16 * kLd, kLd, sP2 + tj * 16 * kLd,
                             kLd, kC);
      // X = Tm^T dD into sY; the intra part of dV, Bm^T dO, into sX.
      tile_product<Col, Row>(sY + ti * 16 * kLd + tj * 16, false, sTm + ti * 16, kLd, sP3 + tj * 16, kLd, kC);
      tile_product<Col, Row>(sX + ti * 16 * kLd + tj * 16, false, sBm + ti * 16, kLd, sP1 + tj * 16, kLd, kC);
    });
    __syncthreads();
    for (int e = tid; e < kC * kVp; e += blockDim.x) {
      const int r = e / kVp, c = e % kVp;
      if (r < nr) b.dv[(grow0 + r) * p.H * V + h * V + v0 + c] = sX[r * kLd + c] + bet[r] * sY[r * kLd + c];
    }
    const float x = row_dot(sY, sP2);  // dbeta_r += (Tm^T dU)_r . v_r
    if (tid % 4 == 0) dbet[tid / 4] += x;
  }
  // <S, dS'> over the block: dgamma_last += exp(gamma_last) <S, dS'>.
  for (int o = 16; o > 0; o /= 2) sdot += __shfl_xor_sync(0xffffffffu, sdot, o);
  if (tid % 32 == 0) red[warp] = sdot;
  __syncthreads();
  if (tid == 0) {
    float s = 0.f;
    for (int i = 0; i < kLocalThreads / 32; ++i) s += red[i];
    dgam[nr - 1] += decay * s;
  }
  for (int e = tid; e < kC * kC; e += blockDim.x) sdTm[(e / kC) * kLd + e % kC] *= bet[e % kC];

  // D. The intra-chunk product B = Aqk Tm diag(beta), reversed (plain: no level mask).
  for (int e = tid; e < kC * kC; e += blockDim.x) {
    const int r = e / kC, j = e % kC;
    if (j > r || r >= nr) sdB[r * kLd + j] = 0.f;
  }
  __syncthreads();
  for_my_tiles([&](int ti, int tj) {  // X2 = Aqk^T dB into sP1
    tile_product<Col, Row>(sP1 + ti * 16 * kLd + tj * 16, false, sAqk + ti * 16, kLd, sdB + tj * 16, kLd, kC);
  });
  __syncthreads();
  if (tid < kC) {  // dbeta_s += Tm[:, s] . X2[:, s]
    float s = 0.f;
    for (int r = 0; r < kC; ++r) s += sTm[r * kLd + tid] * sP1[r * kLd + tid];
    dbet[tid] += s;
  }
  for (int e = tid; e < kC * kC; e += blockDim.x) {
    const int r = e / kC, j = e % kC;
    sdTm[r * kLd + j] += sP1[r * kLd + j] * bet[j];
    sdB[r * kLd + j] *= bet[j];
  }
  __syncthreads();
  for_my_tiles([&](int ti, int tj) {  // dAqk = (dB diag beta) Tm^T into sP2
    tile_product<Row, Col>(sP2 + ti * 16 * kLd + tj * 16, false, sdB + ti * 16 * kLd, kLd, sTm + tj * 16 * kLd, kLd,
                           kC);
  });

  // E. Per K panel: dQ~, dW, dK~ over the V panels, then Q~, W and K~ reversed.
  float* dqh = w.dq_head + grow0 * p.H * K + h * K;
  float* dkh = w.dk_head + grow0 * p.H * K + h * K;
  float tsum = 0.f;  // sum_j el_j k_j . dK~_j: to dgamma_last
  for (int64_t k0 = 0; k0 < K; k0 += kC) {
    const int kw = static_cast<int>(imin(kC, K - k0));
    __syncthreads();
    load_panel(sY, kh, sqk, nr, k0, K);
    load_panel(sBm, qh, sqk, nr, k0, K);
    for_my_tiles([&](int ti, int tj) {
      FragC dqt, dw, dkt;
      wmma::fill_fragment(dqt, 0.f), wmma::fill_fragment(dw, 0.f), wmma::fill_fragment(dkt, 0.f);
      if (tj * 16 < kw) {
        for (int64_t v0 = 0; v0 < V; v0 += kVp) {
          const int64_t at = tile_v + ti * 16 * V + v0;
          const float* sk = S + (k0 + tj * 16) * V + v0;
          const float* dsk = dS + (k0 + tj * 16) * V + v0;
          mma_acc<Row, Col>(dqt, w.dg_do + at, V, sk, V, kVp);
          mma_acc<Row, Col>(dw, w.dg_dd + at, V, sk, V, kVp, -1.f);
          mma_acc<Row, Col>(dkt, w.dg_d + at, V, dsk, V, kVp);
        }
      }
      wmma::store_matrix_sync(sP1 + ti * 16 * kLd + tj * 16, dqt, kLd, wmma::mem_row_major);
      wmma::store_matrix_sync(sP3 + ti * 16 * kLd + tj * 16, dw, kLd, wmma::mem_row_major);
      wmma::store_matrix_sync(sX + ti * 16 * kLd + tj * 16, dkt, kLd, wmma::mem_row_major);
    });
    __syncthreads();
    // Q~ = diag(e^gamma) Q - Aqk W: dgamma_r += e^gamma_r q_r . dQ~_r; dAqk -= dQ~ W^T; dW -= Aqk^T dQ~.
    {
      const float x = row_dot(sBm, sP1);
      if (tid % 4 == 0) dgam[tid / 4] += eg[tid / 4] * x;
    }
    for_my_tiles([&](int ti, int tj) {
      tile_product<Row, Col>(sP2 + ti * 16 * kLd + tj * 16, true, sP1 + ti * 16 * kLd, kLd, wt + tj * 16 * K + k0, K,
                             kw, -1.f);
      tile_product<Col, Row>(sP3 + ti * 16 * kLd + tj * 16, true, sAqk + ti * 16, kLd, sP1 + tj * 16, kLd, kC, -1.f);
    });
    __syncthreads();
    // W = Tm diag(beta e^gamma) K: dTm += dW (diag(beta e^gamma) K)^T; X3 = Tm^T dW.
    for (int e = tid; e < kC * kC; e += blockDim.x) {
      const int r = e / kC, c = e % kC;
      sdB[r * kLd + c] = bet[r] * eg[r] * sY[r * kLd + c];
    }
    __syncthreads();
    for_my_tiles([&](int ti, int tj) {
      tile_product<Row, Col>(sdTm + ti * 16 * kLd + tj * 16, true, sP3 + ti * 16 * kLd, kLd, sdB + tj * 16 * kLd, kLd,
                             kC);
      tile_product<Col, Row>(sBm + ti * 16 * kLd + tj * 16, false, sTm + ti * 16, kLd, sP3 + tj * 16, kLd, kC);
    });
    __syncthreads();
    {
      const int r = tid / 4;
      const float s = eg[r] * row_dot(sBm, sY);  // e^gamma_j X3_j . k_j
      const float t = el[r] * row_dot(sY, sX);   // e^(gamma_last - gamma_j) k_j . dK~_j
      if (tid % 4 == 0) {
        dbet[r] += s;
        dgam[r] += bet[r] * s - t;
        tsum += t;
      }
    }
    // The partial dq, dk of this panel: e^gamma dQ~; beta e^gamma X3 + e^(gamma_last - gamma) dK~.
    for (int e = tid; e < kC * kC; e += blockDim.x) {
      const int r = e / kC, c = e % kC;
      if (r >= nr || c >= kw) continue;
      dqh[r * p.H * K + k0 + c] = eg[r] * sP1[r * kLd + c];
      dkh[r * p.H * K + k0 + c] = bet[r] * eg[r] * sBm[r * kLd + c] + el[r] * sX[r * kLd + c];
    }
  }
  // dgamma_last += sum_j t_j.
  for (int o = 16; o > 0; o /= 2) tsum += __shfl_xor_sync(0xffffffffu, tsum, o);
  __syncthreads();
  if (tid % 32 == 0) red[warp] = tsum;
  __syncthreads();
  if (tid == 0) {
    float s = 0.f;
    for (int i = 0; i < kLocalThreads / 32; ++i) s += red[i];
    dgam[nr - 1] += s;
  }

  // F. Tm = (I + M)^{-1}: dM = -Tm^T dTm Tm^T; then M, Aqk and Gamma reversed.
  for_my_tiles([&](int ti, int tj) {
    tile_product<Col, Row>(sP1 + ti * 16 * kLd + tj * 16, false, sTm + ti * 16, kLd, sdTm + tj * 16, kLd, kC);
  });
  __syncthreads();
  for_my_tiles([&](int ti, int tj) {
    tile_product<Row, Col>(sP3 + ti * 16 * kLd + tj * 16, false, sP1 + ti * 16 * kLd, kLd, sTm + tj * 16 * kLd, kLd,
                           kC, -1.f);
  });
  __syncthreads();
  for (int e = tid; e < kC * kC; e += blockDim.x) {
    const int r = e / kC, j = e % kC;
    float dQK = 0.f, dKK = 0.f, d = 0.f, db = 0.f;
    if (j <= r && r < nr) {
      const float G = expf(gam[r] - gam[j]), kk = sKK[r * kLd + j], dA = sP2[r * kLd + j];
      float dG = dA * sQK[r * kLd + j];
      dQK = dA * G;
      if (j < r) {
        const float dm = sP3[r * kLd + j];
        db = dm * G * kk;
        dG += dm * bet[r] * kk;
        dKK = dm * bet[r] * G;
      }
      d = dG * G;
    }
    sQK[r * kLd + j] = dQK;
    sKK[r * kLd + j] = dKK;
    sX[r * kLd + j] = d;
    sY[r * kLd + j] = db;
  }
  __syncthreads();
  if (tid < kC) {
    float rs = 0.f, cs = 0.f, bs = 0.f;
    for (int i = 0; i < kC; ++i) rs += sX[tid * kLd + i], cs += sX[i * kLd + tid], bs += sY[tid * kLd + i];
    dgam[tid] += rs - cs;
    dbet[tid] += bs;
  }

  // G. KK = K K^T, QK = Q K^T: dk += (dKK + dKK^T) K + dQK^T Q, dq += dQK K, per K panel.
  for (int64_t k0 = 0; k0 < K; k0 += kC) {
    const int kw = static_cast<int>(imin(kC, K - k0));
    __syncthreads();
    load_panel(sP1, kh, sqk, nr, k0, K);
    load_panel(sP2, qh, sqk, nr, k0, K);
    __syncthreads();
    for_my_tiles([&](int ti, int tj) {
      FragC dk, dq;
      wmma::fill_fragment(dk, 0.f), wmma::fill_fragment(dq, 0.f);
      mma_acc<Row, Row>(dk, sKK + ti * 16 * kLd, kLd, sP1 + tj * 16, kLd, kC);
      mma_acc<Col, Row>(dk, sKK + ti * 16, kLd, sP1 + tj * 16, kLd, kC);
      mma_acc<Col, Row>(dk, sQK + ti * 16, kLd, sP2 + tj * 16, kLd, kC);
      mma_acc<Row, Row>(dq, sQK + ti * 16 * kLd, kLd, sP1 + tj * 16, kLd, kC);
      wmma::store_matrix_sync(sX + ti * 16 * kLd + tj * 16, dk, kLd, wmma::mem_row_major);
      wmma::store_matrix_sync(sY + ti * 16 * kLd + tj * 16, dq, kLd, wmma::mem_row_major);
    });
    __syncthreads();
    for (int e = tid; e < kC * kC; e += blockDim.x) {
      const int r = e / kC, c = e % kC;
      if (r >= nr || c >= kw) continue;
      dqh[r * p.H * K + k0 + c] += sY[r * kLd + c];
      dkh[r * p.H * K + k0 + c] += sX[r * kLd + c];
    }
  }

  // H. gamma is the cumulative g inside the chunk: dg is the reverse cumulative sum.
  __syncthreads();
  if (tid == 0) {
    float acc = 0.f;
    for (int64_t r = nr - 1; r >= 0; --r) {
      acc += dgam[r];
      b.dg[(grow0 + r) * p.H + h] = acc;
      b.dbeta[(grow0 + r) * p.H + h] = dbet[r];
    }
  }
}

}  // namespace

size_t backward_workspace_bytes(const GpuProblem& p) {
  size_t bytes = 0;
  carve_back(nullptr, p, &bytes);
  return bytes;
}

void backward(const GpuProblem& p, const GpuBackward<float>& b, void* ws) {
  LOGLIN_CHECK(!p.log_linear, "[{}] v2's chunked backward is the plain form's; the log-linear form takes v1's", kOp);
  LOGLIN_CHECK(shape_supported(p) && p.seqs != nullptr, "[{}] v2: a problem it does not take (K = {}, V = {})", kOp,
               p.K, p.V);
  const BackWork w = carve_back(ws, p, nullptr);
  cudaStream_t st = cuda::stream(p.device);
  launch_prep(p, b.fwd, w.t);
  GpuForward<float> f = b.fwd;
  f.o = nullptr;
  f.state_out = nullptr;
  launch_scan(p, f, w.t, w.h);
  const size_t rscan_smem = 2 * kTile * sizeof(float);
  LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(gdr_rscan_v2_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(rscan_smem)),
                    kOp);
  gdr_rscan_v2_kernel<<<dim3(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>(p.V / kVp)), kScanThreads,
                        rscan_smem, st>>>(p, b, w);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (p.rows > 0) {
    const size_t smem = kBwdTiles * kTile * sizeof(float);
    LOGLIN_CUDA_CHECK(cudaFuncSetAttribute(gdr_chunk_bwd_v2_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(smem)),
                      kOp);
    gdr_chunk_bwd_v2_kernel<<<dim3(static_cast<unsigned>(w.t.nch), static_cast<unsigned>(p.H)), kLocalThreads, smem,
                              st>>>(p, b, w);
    LOGLIN_CUDA_LAUNCHED(kOp);
    heads_to_groups(p, w.dq_head, w.dk_head, b.dq, b.dk, kOp);
  }
}

}  // namespace loglin::gdr::v2

// The gated delta rule and its log-linear form on CUDA, version 2: the
// chunked WY form of SPEC-gated-deltanet.md section 4 (the algorithm of
// ../cpu/chunk_forward_cpu.cpp, same names) with every matrix product on
// TF32 tensor cores (WMMA m16n16k8, f32 accumulation). This file is the
// forward; gated_delta_rule_v2_backward.cu is the plain form's backward (the
// log-linear form's backward is v1's: kernel_versions.cpp).
//
// Three kernels per call, the count independent of T:
//   gdr_chunk_table_v2_kernel  one block: the first chunk of every sequence
//       (chunks aligned to absolute multiples of C = 64, as on the CPU).
//   gdr_prep_v2_kernel  grid (chunks, H), 256 threads: everything local to a
//       chunk, in parallel over all chunks. gamma (the cumulative gate, f32),
//       K K^T and Q K^T (accumulated over 64-column panels of K), M and
//       Aqk, Tm = (I + M)^{-1} by forward substitution (four threads per
//       column, one row at a time), then per K panel K~, W, Q~ (and, for the
//       last chunk of a sequence whose log-linear final state is asked,
//       Y = Tm^T K~), per V panel U and the intra-chunk output
//       ((Aqk Tm diag(beta)) o Lam) V. All written to the workspace in
//       64-row tiles per (head, chunk), rows past the chunk's end zero.
//   gdr_scan_v2_kernel  grid (N H, V / 64), 128 threads: the scan over
//       chunks of one (sequence, head, 64 V columns), in order. Per chunk:
//       re-bucket the level states at an aligned start, read every slot in
//       use through Q~ (weights lambda_r[max(l, m_r)]), write o, cross every
//       slot (S <- exp(gamma_last) S - K~^T (W S)), add the chunk's own
//       sources E = K~^T U to slot 0; for the plain form one slot and the
//       cross and E fused: S <- exp(gamma_last) S + K~^T (U - W S). The
//       slots live in the workspace ([N, H, Ls, K, V], L2-resident); WMMA
//       reads them and the chunk tiles straight from global memory. After
//       the last chunk, the final state: each slot at max(level(e, b), l),
//       the last chunk's rows by their level from e through Y.
//
// Placement: the scan, as on the CPU (../README.md, "Why a scan over chunks,
// not a tree", counts FLOPs and bytes). Its cost is sequential in the number
// of chunks per sequence; the prep kernel, about two thirds of the FLOPs,
// is parallel over every chunk.
//
// Numbers: gamma is an f32 cumulative sum (in double, rounded once per row);
// every exp is of a difference <= 0. Products in TF32 with f32
// accumulation, the triangular solve in f32 FMA. Indices are 64-bit.
#include "ops/gated_delta_rule/cuda_v2/chunk_tiles.h"
#include "ops/gated_delta_rule/cuda_v2/gated_delta_rule_v2.h"
#include "ops/gated_delta_rule/cuda_v2/tiles.cuh"

namespace loglin::gdr::v2 {
namespace {

using namespace dev;

constexpr const char* kOp = "gated_delta_rule";
constexpr int kPrepThreads = kLocalThreads, kScanThreads = 128;
constexpr int kPrepTiles = 6, kScanTiles = 3;

__host__ __device__ inline int64_t slots_of(const GpuProblem& p) { return p.log_linear ? p.L : 1; }

// ---- the chunk table ----

__global__ void gdr_chunk_table_v2_kernel(GpuProblem p, int64_t* begin) {
  __shared__ int64_t part[1024];
  const int nt = blockDim.x, tid = threadIdx.x;
  const int64_t per = (p.n_seqs + nt - 1) / nt, a = tid * per, b = imin(p.n_seqs, a + per);
  int64_t sum = 0;
  for (int64_t s = a; s < b; ++s) sum += chunks_of(p.seqs[s]);
  part[tid] = sum;
  __syncthreads();
  if (tid == 0) {
    int64_t acc = 0;
    for (int i = 0; i < nt; ++i) {
      const int64_t x = part[i];
      part[i] = acc;
      acc += x;
    }
    begin[p.n_seqs] = acc;
  }
  __syncthreads();
  int64_t acc = part[tid];
  for (int64_t s = a; s < b; ++s) {
    begin[s] = acc;
    acc += chunks_of(p.seqs[s]);
  }
}

// ---- the prep kernel: everything local to one chunk ----

__global__ void __launch_bounds__(kPrepThreads) gdr_prep_v2_kernel(GpuProblem p, GpuForward<float> f, ChunkTiles w) {
  extern __shared__ __align__(128) float smem[];
  float* sK = smem;          // a K panel (raw, then scaled by beta e^gamma), later a scratch product
  float* sQ = sK + kTile;    // a Q panel, or a V panel
  float* sKK = sQ + kTile;   // K K^T, then M, then Bl = ((Aqk Tm) diag(beta)) o Lam
  float* sTm = sKK + kTile;  // Tm
  float* sA = sTm + kTile;   // Q K^T, then Aqk
  float* sX = sA + kTile;    // K~, then W (of one K panel)
  __shared__ float gam[kC], bet[kC], eg[kC], el[kC];

  const int64_t cid = blockIdx.x, h = blockIdx.y;
  ChunkAt ch;
  if (!locate_chunk(p, w.chunk_begin, cid, ch)) return;
  const int64_t nr = ch.nr, t0 = ch.t0, grow0 = ch.grow0;
  const int64_t grp = h / (p.H / p.G), sqk = p.G * p.K;
  const int tid = threadIdx.x;
  const float* qh = f.q + grow0 * sqk + grp * p.K;
  const float* kh = f.k + grow0 * sqk + grp * p.K;
  const float* vh = f.v + grow0 * p.H * p.V + h * p.V;

  // 1-3. gamma and friends, M and Aqk (in place of K K^T and Q K^T), Tm.
  chunk_local(p, f, ch, h, ChunkVecs{gam, bet, eg, el}, sK, sQ, sKK, sA, sKK, sA, sTm);
  if (tid == 0) w.decay[h * w.nch + cid] = expf(gam[kC - 1]);

  // 4. Bl = ((Aqk Tm) diag(beta)) o Lam into sKK (M is no longer needed).
  for_my_tiles([&](int ti, int tj) {
    tile_product<Row, Row>(sKK + ti * 16 * kLd + tj * 16, false, sA + ti * 16 * kLd, kLd, sTm + tj * 16, kLd, kC);
  });
  __syncthreads();
  for (int e = tid; e < kC * kC; e += blockDim.x) {
    const int r = e / kC, j = e % kC;
    float x = j <= r && r < nr ? sKK[r * kLd + j] * bet[j] : 0.f;
    if (f.ls && x != 0.f) x *= f.ls[((grow0 + r) * p.H + h) * p.L + level_of(t0 + r, t0 + j)];
    sKK[r * kLd + j] = x;
  }

  // 5. Per K panel: K~, Y = Tm^T K~ (last chunk, log-linear final state), W, Q~.
  const int64_t tile_k = (h * w.nch + cid) * kC * p.K;
  float* yf = w.yf && ch.last ? w.yf + (ch.seq * p.H + h) * kC * p.K : nullptr;
  for (int64_t k0 = 0; k0 < p.K; k0 += kC) {
    const int kw = static_cast<int>(imin(kC, p.K - k0));
    __syncthreads();
    load_panel(sK, kh, sqk, nr, k0, p.K);
    load_panel(sQ, qh, sqk, nr, k0, p.K);
    __syncthreads();
    for (int e = tid; e < kC * kC; e += blockDim.x) {
      const int r = e / kC, c = e % kC;
      const float x = sK[r * kLd + c];
      sX[r * kLd + c] = el[r] * x;
      if (c < kw) w.kt[tile_k + r * p.K + k0 + c] = el[r] * x;
      sK[r * kLd + c] = bet[r] * eg[r] * x;
    }
    __syncthreads();
    if (yf) {
      for_my_tiles([&](int ti, int tj) {
        if (tj * 16 >= kw) return;
        FragC acc;
        wmma::fill_fragment(acc, 0.f);
        mma_acc<Col, Row>(acc, sTm + ti * 16, kLd, sX + tj * 16, kLd, kC);
        wmma::store_matrix_sync(yf + ti * 16 * p.K + k0 + tj * 16, acc, static_cast<unsigned>(p.K),
                                wmma::mem_row_major);
      });
    }
    __syncthreads();  // K~ read: sX takes W
    for_my_tiles([&](int ti, int tj) {
      FragC acc;
      wmma::fill_fragment(acc, 0.f);
      mma_acc<Row, Row>(acc, sTm + ti * 16 * kLd, kLd, sK + tj * 16, kLd, kC);
      wmma::store_matrix_sync(sX + ti * 16 * kLd + tj * 16, acc, kLd, wmma::mem_row_major);
      if (tj * 16 < kw)
        wmma::store_matrix_sync(w.w + tile_k + ti * 16 * p.K + k0 + tj * 16, acc, static_cast<unsigned>(p.K),
                                wmma::mem_row_major);
    });
    __syncthreads();  // W complete; the scaled K panel is no longer needed: sK takes Aqk W
    for_my_tiles([&](int ti, int tj) {
      tile_product<Row, Row>(sK + ti * 16 * kLd + tj * 16, false, sA + ti * 16 * kLd, kLd, sX + tj * 16, kLd, kC);
    });
    __syncthreads();
    for (int e = tid; e < kC * kC; e += blockDim.x) {
      const int r = e / kC, c = e % kC;
      if (c < kw) w.qt[tile_k + r * p.K + k0 + c] = eg[r] * sQ[r * kLd + c] - sK[r * kLd + c];
    }
  }

  // 6. Per V panel: the intra-chunk output Bl V and U = Tm diag(beta) V.
  const int64_t tile_v = (h * w.nch + cid) * kC * p.V;
  for (int64_t v0 = 0; v0 < p.V; v0 += kVp) {
    __syncthreads();
    load_panel(sQ, vh, p.H * p.V, nr, v0, p.V);
    __syncthreads();
    for_my_tiles([&](int ti, int tj) {
      FragC acc;
      wmma::fill_fragment(acc, 0.f);
      mma_acc<Row, Row>(acc, sKK + ti * 16 * kLd, kLd, sQ + tj * 16, kLd, kC);
      wmma::store_matrix_sync(w.oi + tile_v + ti * 16 * p.V + v0 + tj * 16, acc, static_cast<unsigned>(p.V),
                              wmma::mem_row_major);
    });
    __syncthreads();
    for (int e = tid; e < kC * kC; e += blockDim.x) sQ[(e / kC) * kLd + e % kC] *= bet[e / kC];
    __syncthreads();
    for_my_tiles([&](int ti, int tj) {
      FragC acc;
      wmma::fill_fragment(acc, 0.f);
      mma_acc<Row, Row>(acc, sTm + ti * 16 * kLd, kLd, sQ + tj * 16, kLd, kC);
      wmma::store_matrix_sync(w.u + tile_v + ti * 16 * p.V + v0 + tj * 16, acc, static_cast<unsigned>(p.V),
                              wmma::mem_row_major);
    });
  }
}

// ---- the scan kernel: the level states of one (sequence, head, V panel) ----

__global__ void __launch_bounds__(kScanThreads) gdr_scan_v2_kernel(GpuProblem p, GpuForward<float> f, ChunkTiles w,
                                                                  float* h_out) {
  extern __shared__ __align__(128) float smem[];
  float* sO = smem;         // the chunk's output panel (f32)
  float* sX = sO + kTile;   // one slot's read, Q~ S
  float* sY = sX + kTile;   // W S (negated), or U - W S for the plain form
  __shared__ int mrow[kC];  // m_r: the level row r sees the states below it at

  const int64_t sid = blockIdx.x / p.H, h = blockIdx.x % p.H, v0 = blockIdx.y * int64_t(kVp);
  const GpuSeq sq = p.seqs[sid];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int64_t Ls = slots_of(p), K = p.K, V = p.V, kv = K * V;
  const int64_t state_off = (sid * p.H + h) * Ls * kv;
  float* slots = w.slots + state_off + v0;
  auto slot = [&](int l) { return slots + l * kv; };
  const int64_t nchunks = chunks_of(sq), cid0 = w.chunk_begin[sid];

  // The initial state: every level in use when given; the plain form's one slot always.
  uint64_t live = 0;
  for (int l = 0; l < Ls; ++l) {
    if (!f.state_in && !(l == 0 && !p.log_linear)) continue;
    const float* src = f.state_in ? f.state_in + state_off + l * kv + v0 : nullptr;
    for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
      const int64_t k = e / kVp, c = e % kVp;
      slot(l)[k * V + c] = src ? src[k * V + c] : 0.f;
    }
    live |= uint64_t{1} << l;
  }
  if (nchunks == 0 && f.state_out) {  // an empty sequence: the final state is the initial one
    __syncthreads();
    for (int l = 0; l < Ls; ++l)
      for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
        const int64_t k = e / kVp, c = e % kVp;
        f.state_out[state_off + l * kv + k * V + v0 + c] = (live >> l) & 1 ? slot(l)[k * V + c] : 0.f;
      }
    return;
  }

  for (int64_t i = 0; i < nchunks; ++i) {
    int64_t r0, r1;
    chunk_rows(sq, i, r0, r1);
    const int64_t nr = r1 - r0, t0 = sq.pos + r0, grow0 = sq.row0 + r0, cid = cid0 + i;
    const bool last = i + 1 == nchunks;
    const float* qt = w.qt + (h * w.nch + cid) * kC * K;
    const float* wt = w.w + (h * w.nch + cid) * kC * K;
    const float* kt = w.kt + (h * w.nch + cid) * kC * K;
    const float* ut = w.u + (h * w.nch + cid) * kC * V + v0;
    const float* oit = w.oi + (h * w.nch + cid) * kC * V + v0;
    const float decay = w.decay[h * w.nch + cid];
    __syncthreads();

    // 1. Re-bucket at an aligned chunk start: the slots below M join slot M.
    if (p.log_linear && t0 > 0 && t0 % kC == 0) {
      const int M = level_of(t0, t0 - 1);
      const uint64_t below = live & ((uint64_t{1} << M) - 1);
      if (below) {
        const bool had = (live >> M) & 1;
        for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
          const int64_t at = (e / kVp) * V + e % kVp;
          float acc = had ? slot(M)[at] : 0.f;
          for (int l = 0; l < M; ++l)
            if ((below >> l) & 1) acc += slot(l)[at];
          slot(M)[at] = acc;
        }
        live = (live & ~((uint64_t{1} << M) - 1)) | (uint64_t{1} << M);
      }
    }
    if (h_out) {  // the plain form's backward: the state entering the chunk, no output
      float* dst = h_out + (h * w.nch + cid) * kv + v0;
      for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
        const int64_t at = (e / kVp) * V + e % kVp;
        dst[at] = slot(0)[at];
      }
      if (last) break;
    } else {
    // 2. The output starts from the intra-chunk part; m_r for the reads.
    for (int e = tid; e < kC * kVp; e += blockDim.x) sO[(e / kVp) * kLd + e % kVp] = oit[(e / kVp) * V + e % kVp];
    if (tid < kC) mrow[tid] = level_of(t0 + tid, t0 > 0 ? t0 - 1 : 0);
    __syncthreads();

    // 3. Reads: warp w owns rows 16 w .. 16 w + 15 of the panel.
    for (int l = 0; l < Ls; ++l) {
      if (!((live >> l) & 1)) continue;
      FragC acc[4];
      for (int tj = 0; tj < 4; ++tj) {
        if (p.log_linear) wmma::fill_fragment(acc[tj], 0.f);
        else wmma::load_matrix_sync(acc[tj], sO + warp * 16 * kLd + tj * 16, kLd, wmma::mem_row_major);
      }
      for (int64_t s = 0; s < K; s += 8) {
        FragA<Row> fa;
        wmma::load_matrix_sync(fa, qt + warp * 16 * K + s, static_cast<unsigned>(K));
        round_tf32(fa);
        for (int tj = 0; tj < 4; ++tj) {
          FragB<Row> fb;
          wmma::load_matrix_sync(fb, slot(l) + s * V + tj * 16, static_cast<unsigned>(V));
          round_tf32(fb);
          wmma::mma_sync(acc[tj], fa, fb, acc[tj]);
        }
      }
      float* dst = p.log_linear ? sX : sO;
      for (int tj = 0; tj < 4; ++tj)
        wmma::store_matrix_sync(dst + warp * 16 * kLd + tj * 16, acc[tj], kLd, wmma::mem_row_major);
      __syncwarp();
      if (p.log_linear) {
        for (int e = lane; e < 16 * kVp; e += 32) {
          const int r = warp * 16 + e / kVp, c = e % kVp;
          if (r >= nr) continue;
          const int lv = l > mrow[r] ? l : mrow[r];
          sO[r * kLd + c] += f.ls[((grow0 + r) * p.H + h) * p.L + lv] * sX[r * kLd + c];
        }
        __syncwarp();
      }
    }
    // 4. The output rows of this warp.
    for (int e = lane; e < 16 * kVp; e += 32) {
      const int r = warp * 16 + e / kVp, c = e % kVp;
      if (r < nr) f.o[(grow0 + r) * p.H * V + h * V + v0 + c] = sO[r * kLd + c];
    }
    if (last && !f.state_out) break;
    }

    // 5. Cross: every slot S <- decay S - K~^T (W S); plain: decay S + K~^T (U - W S).
    for (int l = 0; l < Ls; ++l) {
      if (!((live >> l) & 1)) continue;
      FragC acc[4];
      for (int tj = 0; tj < 4; ++tj) {
        if (p.log_linear) wmma::fill_fragment(acc[tj], 0.f);
        else wmma::load_matrix_sync(acc[tj], ut + warp * 16 * V + tj * 16, static_cast<unsigned>(V), wmma::mem_row_major);
      }
      for (int64_t s = 0; s < K; s += 8) {
        FragA<Row> fa;
        wmma::load_matrix_sync(fa, wt + warp * 16 * K + s, static_cast<unsigned>(K));
        round_tf32(fa, -1.f);
        for (int tj = 0; tj < 4; ++tj) {
          FragB<Row> fb;
          wmma::load_matrix_sync(fb, slot(l) + s * V + tj * 16, static_cast<unsigned>(V));
          round_tf32(fb);
          wmma::mma_sync(acc[tj], fa, fb, acc[tj]);
        }
      }
      for (int tj = 0; tj < 4; ++tj)
        wmma::store_matrix_sync(sY + warp * 16 * kLd + tj * 16, acc[tj], kLd, wmma::mem_row_major);
      __syncthreads();  // sY complete, and every read of this slot done
      for (int64_t tk = warp; tk < K / 16; tk += kScanThreads / 32) {
        for (int tj = 0; tj < 4; ++tj) {
          FragC st;
          float* at = slot(l) + tk * 16 * V + tj * 16;
          wmma::load_matrix_sync(st, at, static_cast<unsigned>(V), wmma::mem_row_major);
          for (int x = 0; x < st.num_elements; ++x) st.x[x] *= decay;
          mma_acc<Col, Row>(st, kt + tk * 16, K, sY + tj * 16, kLd, kC);
          wmma::store_matrix_sync(at, st, static_cast<unsigned>(V), wmma::mem_row_major);
        }
      }
      __syncthreads();
    }
    // 6. Log-linear: the chunk's own sources E = K~^T U join slot 0.
    if (p.log_linear && !last) {
      const bool had = live & 1;
      for (int64_t tk = warp; tk < K / 16; tk += kScanThreads / 32) {
        for (int tj = 0; tj < 4; ++tj) {
          FragC st;
          float* at = slot(0) + tk * 16 * V + tj * 16;
          if (had) wmma::load_matrix_sync(st, at, static_cast<unsigned>(V), wmma::mem_row_major);
          else wmma::fill_fragment(st, 0.f);
          mma_acc<Col, Row>(st, kt + tk * 16, K, ut + tj * 16, V, kC);
          wmma::store_matrix_sync(at, st, static_cast<unsigned>(V), wmma::mem_row_major);
        }
      }
      live |= 1;
    }
    if (!last) continue;

    // 7. The final state, after the last chunk.
    __syncthreads();
    float* F = f.state_out + state_off + v0;
    if (!p.log_linear) {
      for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
        const int64_t at = (e / kVp) * V + e % kVp;
        F[at] = slot(0)[at];
      }
      break;
    }
    const int64_t epos = sq.pos + sq.len - 1;
    const int mb = level_of(epos, t0 > 0 ? t0 - 1 : 0);
    const float* yf = w.yf + (sid * p.H + h) * kC * K;
    for (int64_t e = tid; e < K * kVp; e += blockDim.x) {
      const int64_t k = e / kVp, c = e % kVp, at = k * V + c;
      for (int l = 0; l < Ls; ++l) F[l * kv + at] = 0.f;
      for (int l = 0; l < Ls; ++l)
        if ((live >> l) & 1) F[(l > mb ? l : mb) * kv + at] += slot(l)[at];
      // The last chunk's rows, run by run of equal level from the last position.
      float acc = 0.f;
      int run = -1;
      for (int64_t r = 0; r < nr; ++r) {
        const int m = level_of(epos, t0 + r);
        if (m != run && run >= 0) F[run * kv + at] += acc, acc = 0.f;
        run = m;
        acc += yf[r * K + k] * f.beta[(grow0 + r) * p.H + h] * f.v[(grow0 + r) * p.H * V + h * V + v0 + c];
      }
      if (run >= 0) F[run * kv + at] += acc;
    }
  }
}

void check_problem(const GpuProblem& p) {
  LOGLIN_CHECK(shape_supported(p), "[{}] v2 needs K a multiple of 16, V a multiple of {} and at most 64 levels, got "
               "K = {}, V = {}, L = {}", kOp, kVp, p.K, p.V, p.L);
  LOGLIN_CHECK(p.seqs != nullptr, "[{}] v2 needs the uploaded sequence table", kOp);
  LOGLIN_CHECK(p.n_seqs * p.H < (int64_t{1} << 31) && chunk_capacity(p) < (int64_t{1} << 31),
               "[{}] v2: {} sequences x {} heads is too many blocks", kOp, p.n_seqs, p.H);
}

}  // namespace

int64_t chunk_capacity(const GpuProblem& p) { return p.rows / kC + 2 * p.n_seqs; }

ChunkTiles carve_tiles(WorkspaceCarver& c, const GpuProblem& p, bool final_state) {
  ChunkTiles w;
  w.nch = chunk_capacity(p);
  const int64_t tk = p.H * w.nch * kC * p.K, tv = p.H * w.nch * kC * p.V;
  w.chunk_begin = c.take<int64_t>(p.n_seqs + 1);
  w.qt = c.take<float>(tk);
  w.w = c.take<float>(tk);
  w.kt = c.take<float>(tk);
  w.u = c.take<float>(tv);
  w.oi = c.take<float>(tv);
  w.decay = c.take<float>(p.H * w.nch);
  if (p.log_linear && final_state) w.yf = c.take<float>(p.n_seqs * p.H * kC * p.K);
  w.slots = c.take<float>(p.n_seqs * p.H * slots_of(p) * p.K * p.V);
  return w;
}

void launch_prep(const GpuProblem& p, const GpuForward<float>& f, const ChunkTiles& w) {
  cudaStream_t st = cuda::stream(p.device);
  gdr_chunk_table_v2_kernel<<<1, 1024, 0, st>>>(p, w.chunk_begin);
  LOGLIN_CUDA_LAUNCHED(kOp);
  if (p.rows == 0) return;
  const size_t smem = kPrepTiles * kTile * sizeof(float);
  LOGLIN_CUDA_CHECK(
      cudaFuncSetAttribute(gdr_prep_v2_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
      kOp);
  gdr_prep_v2_kernel<<<dim3(static_cast<unsigned>(w.nch), static_cast<unsigned>(p.H)), kPrepThreads, smem, st>>>(
      p, f, w);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

void launch_scan(const GpuProblem& p, const GpuForward<float>& f, const ChunkTiles& w, float* h_out) {
  const size_t smem = kScanTiles * kTile * sizeof(float);
  LOGLIN_CUDA_CHECK(
      cudaFuncSetAttribute(gdr_scan_v2_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
      kOp);
  gdr_scan_v2_kernel<<<dim3(static_cast<unsigned>(p.n_seqs * p.H), static_cast<unsigned>(p.V / kVp)), kScanThreads,
                       smem, cuda::stream(p.device)>>>(p, f, w, h_out);
  LOGLIN_CUDA_LAUNCHED(kOp);
}

bool shape_supported(const GpuProblem& p) {
  return p.K >= 16 && p.K % 16 == 0 && p.V >= kVp && p.V % kVp == 0 && p.L >= 1 && p.L <= 64 && p.H % p.G == 0;
}

size_t forward_workspace_bytes(const GpuProblem& p, bool state_out) {
  WorkspaceCarver c(nullptr);
  carve_tiles(c, p, state_out);
  return c.used();
}

void forward(const GpuProblem& p, const GpuForward<float>& f, void* ws) {
  check_problem(p);
  WorkspaceCarver c(ws);
  const ChunkTiles w = carve_tiles(c, p, f.state_out != nullptr);
  launch_prep(p, f, w);
  launch_scan(p, f, w, nullptr);
}

}  // namespace loglin::gdr::v2

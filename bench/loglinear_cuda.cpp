// bench_loglinear_cuda: log_linear_attention on the GPU against the peer of
// /work/shared/PEERS.md (the reference package's Triton kernels, one H100).
//
// Build: cmake -S . -B build -G Ninja -DLOGLIN_CUDA=ON && ninja -C build bench_loglinear_cuda
// Run:   build/bench/bench_loglinear_cuda [--versions v1,v2] [--max-T 32768] [--runs 10] [--only-T T] [--dims K,V]
//        [--prefill]
//
// Shapes (PEERS.md): q, k [B, T, 1, 128] (one group), v [B, T, 32, 64],
// g [B, T, 32], level_scales [B, T, 32, L] with L = bit_length(T - 1) + 1,
// B = 32768 / T (32K tokens per batch), T = 1024 .. 32768, chunk 64.
// dtypes: q, k, v, level_scales in bf16; g in f32 (the op takes f32 g with
// bf16 inputs, as the peer did). A version without native bf16 launchers
// (v1) converts the bf16 inputs to f32 inside the op; those conversions are
// timed as part of it. Two extra rows per version: f32 inputs at T = 1024,
// in full f32 and with TF32 allowed (float32 matmul precision "high";
// Triton's dot uses TF32 on f32 inputs unless told otherwise; PEERS.md does
// not say which the peer ran; v1 has no TF32 path and computes in f32 either
// way).
//
// Timing: CUDA events on loglin's stream around each call, 3 warm-up calls,
// the median of --runs (default 10). "fwd" is the op under no_grad; "fwd+bwd"
// is one forward with autograd and one backward with a fixed random bf16
// output gradient (the leaves' gradients are dropped between runs).
// "host ms": the median wall time the host spends inside one fwd+bwd call
// (queueing it; the GPU runs behind), to tell launch overhead from kernels.
// Peak memory: cuda::reset_peak_memory(0) before the fwd+bwd runs, then
// cuda::memory_stats(0).peak_bytes (the inputs, about 0.3 GiB at every T,
// are allocated before the reset and count as in use).
//
// FLOP count (2 FLOPs per multiply-add; nothing is measured). Per batch
// element, C = 64, NT = ceil(T / C) chunks, G groups, H heads, head dims K, V:
//   forward  = NT * G * 2 C^2 K          intra-chunk scores Q K^T (the whole C x C
//                                        tile, as a tensor-core kernel computes it;
//                                        the causal mask is applied after)
//            + NT * H * 2 C^2 V          masked scores times V
//            + NT * H * 2 C K V          per-chunk states U = K^T diag(decay) V
//            + N_comb * H * 2 K V        tree combines (scale the left child, add)
//            + N_read * H * 2 C K V      level queries Q R, one per non-empty level
// where N_comb = number of tree nodes above level 0 (sum over j >= 1 of
// floor((NT - 1) / 2^j)) and N_read = sum over chunks n of popcount(n) (only
// the levels whose bit is set are read; KERNELS.md).
//   backward = NT * G * 2 C^2 K          scores recomputed
//            + NT * H * 2 C^2 (2 V + 2 K)  dA = dO V^T, dV += (S o W)^T dO,
//                                          dq += (dA o W) K, dk += (dA o W)^T Q
//            + NT * H * 3 * 2 C K V      states rebuilt, dk and dv from dU
//            + N_comb * H * 2 * 2 K V    combines rebuilt, transposed tree
//            + N_read * H * 2 * 2 C K V  dq from each read, node gradients dR
// fwd+bwd TFLOP/s divides forward + backward by the fwd+bwd time.
// The per-row scalings, exp and dg's O(T) work are not counted.
//
// Reference rows: loglin's own causal_attention (ops/attention, bf16 tensor
// cores), 32 heads x 64, causal, the same B and T, next to the peer's
// FlashAttention (PyTorch SDPA) from the same --peers file. FLOPs for those rows:
// 2 B H T^2 D forward (QK^T and PV on the causal half), 3.5 x that for
// fwd+bwd (as bench_attention_cuda states).
//
// The peer columns come from --peers FILE: the CSV that
// bench/peers/lla_peers.py wrote earlier in the same device call
// (scripts/gpu_plan_check.sh runs both). Without it they print as "-".
// ratio = peer ms / our ms (above 1: we are faster).
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/rng.h"
#include "ops/kernel_registry.h"
#include "ops/log_linear_attention/kernel_versions.h"
#include "ops/precision.h"
#include "ops/ops.h"

#if LOGLIN_WITH_CUDA
#include "core/cuda_check.h"
#include "core/cuda_stream.h"
#include "csv_rows.h"
#include "table_cells.h"
#include "cuda_timing.h"
#endif

using namespace loglin;

namespace {

#if LOGLIN_WITH_CUDA
constexpr int64_t kTokens = 32768, kH = 32, kG = 1, kC = 64;
// Head dims: PEERS.md's 128 and 64 unless --dims says otherwise (then the
// peer's columns are not comparable and print as "-").
int64_t kK = 128, kV = 64;
// --prefill: the forward also returns the final state (prefill for
// decoding); only the forward is timed.
bool kPrefill = false;
bool peer_shape() { return kK == 128 && kV == 64 && !kPrefill; }

constexpr int64_t kTs[] = {1024, 2048, 4096, 8192, 16384, 32768};

// The peers' rows, from the CSV bench/peers/lla_peers.py wrote earlier in
// the same device call (--peers): the reference package's
// chunk_log_linear_attn and PyTorch SDPA. Missing rows print as "-".
struct PeerRow {
  double fwd_ms = NAN, fwd_bwd_ms = NAN, peak_mib = NAN;
  std::string note;
};
std::map<std::tuple<std::string, std::string, int64_t>, PeerRow> g_peers;  // (peer, dtype, T)

void read_peers(const std::string& path) {
  // peer,dtype,B,T,fwd_ms,fwdbwd_ms,peak_MiB,note
  for (const std::vector<std::string>& f : bench::read_csv_rows(path, "bench_loglinear_cuda")) {
    if (f.size() < 7) continue;
    PeerRow r;
    r.fwd_ms = std::strtod(f[4].c_str(), nullptr);
    r.fwd_bwd_ms = std::strtod(f[5].c_str(), nullptr);
    r.peak_mib = std::strtod(f[6].c_str(), nullptr);
    if (f.size() > 7) r.note = f[7];
    g_peers[{f[0], f[1], std::atoll(f[3].c_str())}] = r;
  }
}

PeerRow peer(const char* name, const char* dtype, int64_t T) {
  auto it = g_peers.find({name, dtype, T});
  return it == g_peers.end() ? PeerRow{} : it->second;
}

struct Flops {
  double fwd = 0, bwd = 0;
};

Flops count_flops(int64_t B, int64_t T, int64_t G, int64_t H, int64_t K, int64_t V, int64_t C) {
  const int64_t NT = (T + C - 1) / C;
  double n_comb = 0, n_read = 0;
  for (int j = 1; ((NT - 1) >> j) > 0; ++j) n_comb += static_cast<double>((NT - 1) >> j);
  for (int64_t n = 0; n < NT; ++n) n_read += std::popcount(static_cast<uint64_t>(n));
  const double c = static_cast<double>(C), kv = static_cast<double>(K) * V, nt = static_cast<double>(NT);
  Flops f;
  f.fwd = nt * G * 2 * c * c * K + nt * H * 2 * c * c * V + nt * H * 2 * c * kv + n_comb * H * 2 * kv +
          n_read * H * 2 * c * kv;
  f.bwd = nt * G * 2 * c * c * K + nt * H * 2 * c * c * (2.0 * V + 2.0 * K) + nt * H * 3 * 2 * c * kv +
          n_comb * H * 2 * 2 * kv + n_read * H * 2 * 2 * c * kv;
  f.fwd *= B, f.bwd *= B;
  return f;
}


int64_t levels_for(int64_t T) { return static_cast<int64_t>(std::bit_width(static_cast<uint64_t>(T - 1))) + 1; }

Tensor leaf(Tensor t) {
  t = t.detach();
  t.set_requires_grad(true);
  return t;
}

struct Timing {
  double fwd_ms = NAN, fwd_bwd_ms = NAN, peak_gib = NAN, host_ms = NAN;
  std::string note;
};

// forward() under no_grad, then forward_backward() with the peak memory of
// the latter; an op error becomes the row's note. Frees the cache after.
template <class Fwd, class FwdBwd>
Timing time_fwd_bwd(int runs, Fwd forward, FwdBwd forward_backward) {
  Timing t;
  try {
    t.fwd_ms = bench::cuda_median_ms(
        [&] {
          NoGradGuard no_grad;
          forward();
        },
        3, runs);
    cuda::synchronize(0);
    cuda::reset_peak_memory(0);
    t.fwd_bwd_ms = bench::cuda_median_ms(forward_backward, 3, runs, &t.host_ms);
    cuda::synchronize(0);
    t.peak_gib = static_cast<double>(cuda::memory_stats(0).peak_bytes) / (1024.0 * 1024.0 * 1024.0);
  } catch (const Error& e) {
    t.note = e.what();
  }
  cuda::synchronize(0);
  cuda::empty_cache(0);
  return t;
}

// The op on the PEERS.md shape at sequence length T, inputs in `dt` (g f32).
Timing time_loglinear(int64_t T, DType dt, int runs) {
  const int64_t B = kTokens / T, L = levels_for(T);
  const Device dev = Device::cuda(0);
  Generator gen(1);
  auto make = [&](Shape shape, double lo, double hi, DType d) {
    return leaf(rand(shape, lo, hi, DType::f32, gen).to(d).to(dev));
  };
  // q, k ~ U(-1, 1) / sqrt(K) keeps the scores O(1); g ~ U(-0.05, 0) as a
  // trained model's decays; level scales ~ U(0.5, 1.5).
  const double qs = 1.0 / std::sqrt(static_cast<double>(kK));
  Tensor q = make({B, T, kG, kK}, -qs, qs, dt), k = make({B, T, kG, kK}, -qs, qs, dt);
  Tensor v = make({B, T, kH, kV}, -1, 1, dt), g = make({B, T, kH}, -0.05, 0, DType::f32);
  Tensor ls = make({B, T, kH, L}, 0.5, 1.5, dt);
  const Tensor dout = randn({B, T, kH, kV}, DType::f32, gen).to(dt).to(dev);
  if (kPrefill) {
    Timing t;
    try {
      const LogLinearAttentionOptions opt = LogLinearAttentionOptions().return_final_state();
      t.fwd_ms = bench::cuda_median_ms(
          [&] {
            NoGradGuard no_grad;
            (void)log_linear_attention_with_state(q, k, v, g, ls, opt);
          },
          3, runs);
    } catch (const Error& e) {
      t.note = e.what();
    }
    cuda::synchronize(0);
    cuda::empty_cache(0);
    return t;
  }
  return time_fwd_bwd(
      runs, [&] { (void)log_linear_attention(q, k, v, g, ls); },
      [&] {
        for (Tensor* x : {&q, &k, &v, &g, &ls}) x->zero_grad();
        log_linear_attention(q, k, v, g, ls).backward(dout);
      });
}

// loglin's causal_attention, bf16, 32 heads x 64, [B, H, T, D].
Timing time_attention(int64_t T, int runs) {
  const int64_t B = kTokens / T, D = 64;
  const Device dev = Device::cuda(0);
  Generator gen(2);
  auto make = [&] { return leaf(randn({B, kH, T, D}, DType::f32, gen).to(DType::bf16).to(dev)); };
  Tensor q = make(), k = make(), v = make();
  const Tensor dy = randn({B, kH, T, D}, DType::f32, gen).to(DType::bf16).to(dev);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  return time_fwd_bwd(
      runs, [&] { (void)causal_attention(q, k, v, scale); },
      [&] {
        q.zero_grad(), k.zero_grad(), v.zero_grad();
        causal_attention(q, k, v, scale).backward(dy);
      });
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

std::string fmt_ms(double ms) { return bench::cell_ms(ms); }
std::string fmt_ratio(double peer, double ours) { return bench::cell_ratio(peer, ours); }
std::string fmt_tflops(double flops, double ms) { return bench::cell_tflops(flops, ms, 2); }
#endif

}  // namespace

int main(int argc, char** argv) {
#if !LOGLIN_WITH_CUDA
  (void)argc, (void)argv;
  fmt::print("bench_loglinear_cuda: this build has no CUDA backend\n");
  return 0;
#else
  if (!cuda_is_available()) {
    fmt::print("bench_loglinear_cuda: no CUDA device present\n");
    return 0;
  }
  std::vector<std::string> versions;
  int64_t max_T = 32768, only_T = 0;
  int runs = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--versions" && has_value) versions = split(argv[++i]);
    else if (a == "--max-T" && has_value) max_T = std::atoll(argv[++i]);
    else if (a == "--runs" && has_value) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--only-T" && has_value) only_T = std::atoll(argv[++i]);
    else if (a == "--prefill") kPrefill = true;
    else if (a == "--peers" && has_value) read_peers(argv[++i]);
    else if (a == "--dims" && has_value) {
      const std::vector<std::string> d = split(argv[++i]);
      auto ok = [](int64_t x) { return x == 32 || x == 64 || x == 128 || x == 256; };
      if (d.size() != 2 || !ok(std::atoll(d[0].c_str())) || !ok(std::atoll(d[1].c_str()))) {
        fmt::print(stderr, "bench_loglinear_cuda: --dims takes K,V with each in 32, 64, 128, 256 (got '{}')\n", argv[i]);
        return 2;
      }
      kK = std::atoll(d[0].c_str()), kV = std::atoll(d[1].c_str());
    }
    else {
      fmt::print(stderr, "usage: bench_loglinear_cuda [--versions v1,v2] [--max-T 32768] [--runs 10] [--only-T T] "
                         "[--dims K,V] [--prefill] [--peers lla_peers.csv]\n"
                         "  --only-T: one row of the table (for a profiler), no f32 row, no attention table\n"
                         "  --dims: head dims other than PEERS.md's 128,64 (no peer columns, no attention table)\n"
                         "  --prefill: time the forward with the final state (no_grad), no fwd+bwd, no peer columns\n"
                         "  --peers: the CSV of bench/peers/lla_peers.py from the same device call\n");
      return 2;
    }
  }
  if (versions.empty())
    for (const lla::KernelVersion& v : lla::kernel_versions()) versions.push_back(v.name);

  fmt::print("log_linear_attention, q,k [B,T,1,{}], v [B,T,32,{}], g [B,T,32] f32, level_scales [B,T,32,L], "
             "B = 32768/T, chunk 64; median of {} runs (CUDA events) after 3 warm-up runs.\n",
             kK, kV, runs);
  fmt::print("peer = the reference package's chunk_log_linear_attn (Triton), {}; ratio = peer ms / our ms.\n\n",
             g_peers.empty() ? "not given (--peers)" : "measured in this device call (--peers)");
  fmt::print("| T | B | version | dtype | fwd ms | fwd+bwd ms | peer fwd ms | peer fwd+bwd ms | ratio fwd | "
             "ratio fwd+bwd | fwd TFLOP/s | fwd+bwd TFLOP/s | peak GiB | peer peak GiB | host ms |\n");
  fmt::print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const std::string& name : versions) {
    KernelVersionScope scope("log_linear_attention", name);
    auto row = [&](int64_t T, DType dt, bool tf32 = false) {
      const PeerRow pr = peer_shape() ? peer("fla_chunk_log_linear_attn", dt == DType::bf16 ? "bf16" : "f32", T)
                                      : PeerRow{};
      const double peer_fwd = pr.fwd_ms, peer_fb = pr.fwd_bwd_ms;
      const int64_t B = kTokens / T;
      const Flops f = count_flops(B, T, kG, kH, kK, kV, kC);
      const Float32MatmulPrecisionGuard precision(tf32 ? Float32MatmulPrecision::high
                                                       : Float32MatmulPrecision::highest);
      const Timing t = time_loglinear(T, dt, runs);
      fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}{}\n", T, B, name,
                 tf32 ? std::string("f32 (TF32)") : std::string(dtype_name(dt)), fmt_ms(t.fwd_ms), fmt_ms(t.fwd_bwd_ms), fmt_ms(peer_fwd), fmt_ms(peer_fb),
                 fmt_ratio(peer_fwd, t.fwd_ms), fmt_ratio(peer_fb, t.fwd_bwd_ms), fmt_tflops(f.fwd, t.fwd_ms),
                 fmt_tflops(f.fwd + f.bwd, t.fwd_bwd_ms), std::isnan(t.peak_gib) ? "-" : fmt::format("{:.2f}", t.peak_gib),
                 std::isnan(pr.peak_mib) ? "-" : fmt::format("{:.2f}", pr.peak_mib / 1024.0), fmt_ms(t.host_ms),
                 t.note.empty() ? "" : " " + t.note, pr.note.empty() ? "" : " (peer: " + pr.note + ")");
      std::fflush(stdout);
    };
    for (int64_t T : kTs)
      if (only_T ? T == only_T : T <= max_T) row(T, DType::bf16);
    if (!only_T) {
      row(1024, DType::f32);
      row(1024, DType::f32, /*tf32=*/true);
    }
  }
  if (only_T || !peer_shape()) return 0;

  fmt::print("\nReference: loglin causal_attention (bf16 tensor cores), 32 heads x 64, same B and T, next to "
             "FlashAttention (PyTorch SDPA) {}.\n\n",
             g_peers.empty() ? "(not given: --peers)" : "measured in this device call");
  fmt::print("| T | B | attention fwd ms | fwd+bwd ms | SDPA fwd ms | SDPA fwd+bwd ms | ratio fwd | ratio fwd+bwd | "
             "fwd TFLOP/s | fwd+bwd TFLOP/s | peak GiB |\n");
  fmt::print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int64_t T : kTs) {
    if (T > max_T) continue;
    const int64_t B = kTokens / T;
    const double flops = 2.0 * B * kH * static_cast<double>(T) * T * 64;
    const Timing t = time_attention(T, runs);
    const PeerRow sd = peer("sdpa", "bf16", T);
    fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}\n", T, B, fmt_ms(t.fwd_ms),
               fmt_ms(t.fwd_bwd_ms), fmt_ms(sd.fwd_ms), fmt_ms(sd.fwd_bwd_ms), fmt_ratio(sd.fwd_ms, t.fwd_ms),
               fmt_ratio(sd.fwd_bwd_ms, t.fwd_bwd_ms), fmt_tflops(flops, t.fwd_ms),
               fmt_tflops(3.5 * flops, t.fwd_bwd_ms), std::isnan(t.peak_gib) ? "-" : fmt::format("{:.2f}", t.peak_gib),
               t.note.empty() ? "" : " " + t.note);
    std::fflush(stdout);
  }
  return 0;
#endif
}

// bench_gated_delta_rule_cuda: the gated delta rule and its log-linear form on
// CUDA, forward and forward+backward, bf16 inputs (g f32), one row per T with
// B = 32768 / T, for each shape H x K x V (G = H, as the reference package
// needs). With --peers FILE, the CSV that bench/peers/gdn_peers.py wrote
// earlier in the same device call (scripts/gpu_gdn_bench.sh runs both): the
// reference package's chunk_gated_delta_rule and PyTorch SDPA (FlashAttention;
// q, k, v of head dim K) beside us, with the ratios.
//
//   bench_gated_delta_rule_cuda [--T 1024,2048,...] [--shapes 16x128x128,6x192x384]
//                               [--version v2] [--runs 5] [--peers peers.csv]
//
// FLOP count (what the TFLOP/s columns divide by), per chunk of C = 64 rows
// and head, the chunked WY form (ops/gated_delta_rule/README.md):
//   local to the chunk: K K^T, Q K^T, W, Aqk W (2 C^2 K each), U and the
//   intra output (2 C^2 V each), Aqk Tm (2 C^3) and the solve (C^3 / 3);
//   the scan: per state slot in use, its read (2 C K V) and its crossing
//   (4 C K V), plus the chunk's own sources (2 C K V) for the log-linear
//   form (fused into the crossing for the plain form, one slot). The slots
//   in use at chunk n are counted as popcount(n) + 1.
// forward+backward TFLOP/s divides 3x the forward count (the usual
// convention; the backward version may take another road: see --version).
// Peak GiB: loglin's CUDA allocator peak during forward+backward.
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
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
constexpr int64_t kTokens = 32768, kC = 64;

struct Shape3 {
  int64_t H, K, V;
};

std::vector<int64_t> parse_ints(const std::string& s) {
  std::vector<int64_t> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(std::stoll(x));
  return out;
}

std::vector<Shape3> parse_shapes(const std::string& s) {
  std::vector<Shape3> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) {
    Shape3 sh{};
    if (std::sscanf(x.c_str(), "%ldx%ldx%ld", &sh.H, &sh.K, &sh.V) != 3) {
      fmt::print(stderr, "--shapes wants HxKxV[,HxKxV...], got '{}'\n", x);
      std::exit(2);
    }
    out.push_back(sh);
  }
  return out;
}

int64_t levels_for(int64_t T) { return static_cast<int64_t>(std::bit_width(static_cast<uint64_t>(T - 1))) + 1; }

double forward_flops(int64_t B, int64_t T, const Shape3& s, bool log_linear) {
  const double c = kC, K = static_cast<double>(s.K), V = static_cast<double>(s.V), ckv = c * K * V;
  const int64_t NT = (T + kC - 1) / kC;
  const double local = 8 * c * c * K + 4 * c * c * V + 2 * c * c * c + c * c * c / 3;
  double scan = 0;
  for (int64_t n = 0; n < NT; ++n) {
    if (!log_linear) {
      scan += 6 * ckv;
      continue;
    }
    const double slots = std::popcount(static_cast<uint64_t>(n)) + 1;
    scan += 6 * ckv * slots + 2 * ckv;
  }
  return static_cast<double>(B) * static_cast<double>(s.H) * (NT * local + scan);
}

Tensor leaf(Tensor t) {
  t = t.detach();
  t.set_requires_grad(true);
  return t;
}

struct Timing {
  double fwd_ms = NAN, fwd_bwd_ms = NAN, peak_gib = NAN;
  std::string note;
};

Timing time_ours(int64_t T, const Shape3& s, bool log_linear, int runs, bool backward = true) {
  const int64_t B = kTokens / T, L = levels_for(T);
  const Device dev = Device::cuda(0);
  Generator gen(1);
  const auto unit = [](const Tensor& x) { return x / sqrt(sum(x * x, {-1}, true)); };
  Tensor q = leaf(unit(randn({B, T, s.H, s.K}, DType::f32, gen)).to(DType::bf16).to(dev));
  Tensor k = leaf(unit(randn({B, T, s.H, s.K}, DType::f32, gen)).to(DType::bf16).to(dev));
  Tensor v = leaf(randn({B, T, s.H, s.V}, DType::f32, gen).to(DType::bf16).to(dev));
  Tensor g = leaf(rand({B, T, s.H}, -0.1, 0.0, DType::f32, gen).to(dev));
  Tensor beta = leaf(rand({B, T, s.H}, 0.05, 0.95, DType::f32, gen).to(DType::bf16).to(dev));
  Tensor ls = log_linear ? leaf(rand({B, T, s.H, L}, 0.5, 1.5, DType::f32, gen).to(DType::bf16).to(dev)) : Tensor();
  const Tensor dout = randn({B, T, s.H, s.V}, DType::f32, gen).to(DType::bf16).to(dev);
  const auto op = [&] {
    return log_linear ? log_linear_gated_delta_rule(q, k, v, g, beta, ls) : gated_delta_rule(q, k, v, g, beta);
  };
  Timing t;
  try {
    t.fwd_ms = bench::cuda_median_ms(
        [&] {
          NoGradGuard no_grad;
          (void)op();
        },
        2, runs);
    cuda::synchronize(0);
    if (backward) {
      cuda::reset_peak_memory(0);
      t.fwd_bwd_ms = bench::cuda_median_ms([&] { op().backward(dout); }, 1, runs);
      cuda::synchronize(0);
      t.peak_gib = static_cast<double>(cuda::memory_stats(0).peak_bytes) / (1024.0 * 1024.0 * 1024.0);
    }
  } catch (const Error& e) {
    t.note = e.what();
  }
  cuda::synchronize(0);
  cuda::empty_cache(0);
  return t;
}

struct PeerRow {
  double fwd_ms = NAN, fwd_bwd_ms = NAN, peak_mib = NAN;
  std::string note;
  bool present = false;
};
using PeerKey = std::tuple<std::string, int64_t, int64_t, int64_t, int64_t>;  // peer, T, H, K, V

std::map<PeerKey, PeerRow> read_peers(const std::string& path) {
  std::map<PeerKey, PeerRow> rows;
  if (path.empty()) return rows;
  // peer,B,T,H,K,V,fwd_ms,fwdbwd_ms,peak_MiB,note
  for (const std::vector<std::string>& f : bench::read_csv_rows(path, "bench_gated_delta_rule_cuda")) {
    if (f.size() < 9) continue;
    PeerRow r;
    r.present = true;
    r.fwd_ms = std::strtod(f[6].c_str(), nullptr);
    r.fwd_bwd_ms = std::strtod(f[7].c_str(), nullptr);
    r.peak_mib = std::strtod(f[8].c_str(), nullptr);
    if (f.size() > 9) r.note = f[9];
    rows[{f[0], std::stoll(f[2]), std::stoll(f[3]), std::stoll(f[4]), std::stoll(f[5])}] = r;
  }
  return rows;
}

using bench::cell_ms;
using bench::cell_ratio;
std::string tflops(double flops, double t_ms) { return bench::cell_tflops(flops, t_ms, 1); }
#endif

}  // namespace

int main(int argc, char** argv) {
#if !LOGLIN_WITH_CUDA
  (void)argc, (void)argv;
  fmt::print("bench_gated_delta_rule_cuda: this build has no CUDA\n");
  return 0;
#else
  std::string Ts = "1024,2048,4096,8192,16384,32768", shapes = "16x128x128,6x192x384", version = "v2", peers;
  int runs = 5;
  bool ll_backward = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "{} needs a value\n", a);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--T") Ts = next();
    else if (a == "--shapes") shapes = next();
    else if (a == "--version") version = next();
    else if (a == "--runs") runs = std::stoi(next());
    else if (a == "--peers") peers = next();
    else if (a == "--ll-fwd-only") ll_backward = false;  // the log-linear backward may be v1's: slow
    else {
      fmt::print(stderr,
                 "usage: bench_gated_delta_rule_cuda [--T 1024,...] [--shapes HxKxV,...] [--version v2] [--runs 5] "
                 "[--peers peers.csv] [--ll-fwd-only]\n");
      return 2;
    }
  }
  if (!cuda_is_available()) {
    fmt::print("bench_gated_delta_rule_cuda: no CUDA device\n");
    return 0;
  }
  const KernelVersionScope scope("gated_delta_rule", version);
  const auto peer_rows = read_peers(peers);
  const auto peer = [&](const char* name, int64_t T, const Shape3& s) {
    auto it = peer_rows.find({name, T, s.H, s.K, s.V});
    return it == peer_rows.end() ? PeerRow{} : it->second;
  };
  std::vector<std::string> notes;
  for (const Shape3& s : parse_shapes(shapes)) {
    fmt::print("\n### H = {}, K = {}, V = {} (G = H), bf16 inputs, g f32, B = {} / T; version {} (LOGLIN_KERNELS)\n\n",
               s.H, s.K, s.V, kTokens, version);
    fmt::print("| T | B | plain fwd ms | plain fwd+bwd ms | log-linear fwd ms | log-linear fwd+bwd ms | "
               "FLA fwd ms | FLA fwd+bwd ms | SDPA fwd ms | SDPA fwd+bwd ms | FLA / plain fwd+bwd | "
               "log-linear / plain fwd+bwd | SDPA / log-linear fwd+bwd | plain fwd TFLOP/s | log-linear fwd TFLOP/s | "
               "peak GiB (log-linear) | FLA peak GiB |\n");
    fmt::print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int64_t T : parse_ints(Ts)) {
      const int64_t B = kTokens / T;
      const Timing plain = time_ours(T, s, false, runs), ll = time_ours(T, s, true, runs, ll_backward);
      const PeerRow fla = peer("fla_chunk_gated_delta_rule", T, s), sdpa = peer("sdpa", T, s);
      for (const auto* n : {&plain.note, &ll.note, &fla.note, &sdpa.note})
        if (!n->empty()) notes.push_back(fmt::format("T = {}, {}x{}x{}: {}", T, s.H, s.K, s.V, *n));
      fmt::print("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", T, B,
                 cell_ms(plain.fwd_ms), cell_ms(plain.fwd_bwd_ms), cell_ms(ll.fwd_ms), cell_ms(ll.fwd_bwd_ms), cell_ms(fla.fwd_ms),
                 cell_ms(fla.fwd_bwd_ms), cell_ms(sdpa.fwd_ms), cell_ms(sdpa.fwd_bwd_ms), cell_ratio(fla.fwd_bwd_ms, plain.fwd_bwd_ms),
                 cell_ratio(ll.fwd_bwd_ms, plain.fwd_bwd_ms), cell_ratio(sdpa.fwd_bwd_ms, ll.fwd_bwd_ms),
                 tflops(forward_flops(B, T, s, false), plain.fwd_ms), tflops(forward_flops(B, T, s, true), ll.fwd_ms),
                 std::isnan(ll.peak_gib) ? "-" : fmt::format("{:.2f}", ll.peak_gib),
                 std::isnan(fla.peak_mib) ? "-" : fmt::format("{:.2f}", fla.peak_mib / 1024.0));
      std::fflush(stdout);
    }
  }
  if (!notes.empty()) {
    fmt::print("\nErrors:\n");
    for (const std::string& n : notes) fmt::print("- {}\n", n);
  }
  if (peers.empty()) fmt::print("\n(no --peers file: the peer columns print as '-')\n");
  return 0;
#endif
}

// Whole training steps on the GPU (forward, backward, grad clipping, AdamW)
// for the three architectures at d_model 768, 12 layers, vocab 8192:
// tokens/s, ms/step, model FLOP/s with MFU, and peak GPU memory.
//
//   bench_train_throughput [--arch A] [--shape TxB[,TxB...]] [--precision bf16-mixed|f32|tf32] [--steps N]
//                          [--checkpointing off|on|both] [--peers train_peers.csv]
//
// --peers: the CSV bench/peers/train_peers.py wrote earlier in the same
// device call (a PyTorch Llama at the same width, PEERS.md's setup); a second
// table prints its tokens/s beside the transformer's at the same T and B.
//
// --checkpointing on recomputes each block's forward in backward
// (LMOptions::activation_checkpointing, training.activation_checkpointing);
// both runs every shape without and then with it, so the rows compare peak
// memory and tokens/s, e.g. at a long context:
//   bench_train_throughput --arch loglinear_mamba2 --shape 16384x1 --checkpointing both
//
// FLOPs per token (stated, not measured): 6 x (parameters used in matmuls:
// every Linear, including the LM head; embeddings are lookups) plus, for
// attention layers, 6 x n_layers x d_model x T (the causal QK^T and PV
// products, forward 2 x 2 x d x T/2 each way, x3 for forward+backward). The
// Mamba-2 mixers' state-space scans are left out, so their MFU is a lower
// bound. MFU is against the H100 SXM's 989 TFLOP/s dense bf16.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/cuda_memory.h"
#include "core/device.h"
#include "core/rng.h"
#include "nn/layers/linear.h"
#include "nn/models/language_model.h"
#include "ops/autocast.h"
#include "ops/ops.h"
#include "train/optim/optimizer.h"
#include "train/trainer/precision.h"

#if LOGLIN_WITH_CUDA
#include "core/cuda_check.h"
#include "core/cuda_stream.h"
#include "csv_rows.h"

#include <cuda_profiler_api.h>
#endif

using namespace loglin;

namespace {

constexpr double kPeakBf16 = 989e12;

struct Shape2 {
  int64_t T, B;
};

std::vector<Shape2> parse_shapes(const std::string& s) {
  std::vector<Shape2> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    std::string part = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t x = part.find('x');
    LOGLIN_CHECK(x != std::string::npos, "[bench] --shape wants TxB pairs like 2048x8, got '{}'", part);
    out.push_back({std::stoll(part.substr(0, x)), std::stoll(part.substr(x + 1))});
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

int64_t matmul_params(const nn::LanguageModel& m) {
  int64_t n = 0;
  for (const auto& [name, p] : m.named_parameters())
    if (p.dim() == 2 && name.find("embed") == std::string::npos) n += p.numel();
  return n;
}

struct Result {
  double ms_per_step = 0, tokens_per_s = 0, tflops = 0, mfu = 0, peak_gib = 0;
  double fwd_ms = 0, bwd_ms = 0, opt_ms = 0;  // medians of the step's phases
  int64_t params = 0;
};

#if LOGLIN_WITH_CUDA
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Result measure(const std::string& arch, Shape2 shape, bool bf16, bool checkpointing, int steps, bool profile) {
  Generator gen(1);
  auto opts = nn::LMOptions(arch, 8192)
                  .d_model(768)
                  .n_layers(12)
                  .n_heads(12)
                  .head_dim(64)
                  .d_state(128)
                  .expand(2)
                  .chunk_size(64)
                  .max_seq_len(shape.T)
                  .mlp(true)
                  .mlp_hidden(2048)
                  .tie_embeddings(false)
                  .activation_checkpointing(checkpointing);
  nn::LanguageModel model(opts, gen);
  model.to(Device::cuda());
  optim::AdamW opt(optim::decay_groups(model.named_parameters(), 0.1, false));
  Generator data_gen(2);
  Tensor ids = randint(0, 8192, {shape.B, shape.T}, DType::i64, data_gen).to(Device::cuda());
  Tensor targets = randint(0, 8192, {shape.B, shape.T}, DType::i64, data_gen).to(Device::cuda());
  cudaStream_t s = cuda::stream(0);
  cudaEvent_t ev[4];
  for (auto& e : ev) LOGLIN_CUDA_CHECK(cudaEventCreate(&e), "bench");
  // One training step, with events between its phases: forward (to the
  // loss), backward, then clipping + AdamW.
  auto train_step = [&] {
    LOGLIN_CUDA_CHECK(cudaEventRecord(ev[0], s), "bench");
    Tensor loss;
    {
      std::optional<AutocastGuard> guard;
      if (bf16) guard.emplace(DType::bf16);
      loss = cross_entropy(model.forward(ids), targets, -100);
    }
    LOGLIN_CUDA_CHECK(cudaEventRecord(ev[1], s), "bench");
    loss.backward();
    LOGLIN_CUDA_CHECK(cudaEventRecord(ev[2], s), "bench");
    optim::clip_grad_norm(model.parameters(), 1.0);
    opt.step(1e-4);
    opt.zero_grad();
    LOGLIN_CUDA_CHECK(cudaEventRecord(ev[3], s), "bench");
  };
  for (int i = 0; i < 3; ++i) train_step();  // warm-up: the allocator's cache fills, cuBLAS picks algorithms
  cuda::synchronize(0);
  cuda::reset_peak_memory(0);
  std::vector<double> ms, fwd, bwd, upd;
  auto elapsed = [&](int a, int b) {
    float t = 0;
    LOGLIN_CUDA_CHECK(cudaEventElapsedTime(&t, ev[a], ev[b]), "bench");
    return static_cast<double>(t);
  };
  for (int i = 0; i < steps; ++i) {
    // Under a profiler (ncu --profile-from-start off) only the last step is captured.
    const bool capture = profile && i + 1 == steps;
    if (capture) LOGLIN_CUDA_CHECK(cudaProfilerStart(), "bench");
    train_step();
    if (capture) LOGLIN_CUDA_CHECK(cudaProfilerStop(), "bench");
    LOGLIN_CUDA_CHECK(cudaEventSynchronize(ev[3]), "bench");
    ms.push_back(elapsed(0, 3));
    fwd.push_back(elapsed(0, 1));
    bwd.push_back(elapsed(1, 2));
    upd.push_back(elapsed(2, 3));
  }
  for (auto& e : ev) cudaEventDestroy(e);
  Result r;
  r.ms_per_step = median(ms);
  r.fwd_ms = median(fwd);
  r.bwd_ms = median(bwd);
  r.opt_ms = median(upd);
  const double tokens = static_cast<double>(shape.B * shape.T);
  r.tokens_per_s = tokens / (r.ms_per_step / 1e3);
  r.params = model.num_parameters();
  double flops_per_token = 6.0 * static_cast<double>(matmul_params(model));
  if (arch == "transformer") flops_per_token += 6.0 * 12 * 768 * static_cast<double>(shape.T);
  r.tflops = flops_per_token * r.tokens_per_s / 1e12;
  r.mfu = flops_per_token * r.tokens_per_s / kPeakBf16;
  r.peak_gib = static_cast<double>(cuda::memory_stats(0).peak_bytes) / (1024.0 * 1024 * 1024);
  return r;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> archs{"transformer", "mamba2", "loglinear_mamba2"};
  std::string shapes = "2048x8,8192x2", precision = "bf16-mixed";
  int steps = 10;
  bool profile = false;
  std::string peers;
  std::vector<bool> checkpointing{false};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      LOGLIN_CHECK(i + 1 < argc, "[bench] {} needs a value", a);
      return argv[++i];
    };
    if (a == "--arch") archs = {value()};
    else if (a == "--shape") shapes = value();
    else if (a == "--precision") precision = value();
    else if (a == "--steps") steps = std::stoi(value());
    else if (a == "--profile") profile = true;
    else if (a == "--peers") peers = value();
    else if (a == "--checkpointing") {
      const std::string v = value();
      if (v == "off") checkpointing = {false};
      else if (v == "on") checkpointing = {true};
      else if (v == "both") checkpointing = {false, true};
      else {
        fmt::print(stderr, "bench_train_throughput: --checkpointing takes off, on or both (got '{}')\n", v);
        return 2;
      }
    } else {
      fmt::print(stderr, "usage: bench_train_throughput [--arch A] [--shape TxB,...] [--precision bf16-mixed|f32|tf32] [--steps N] [--checkpointing off|on|both] [--profile] [--peers train_peers.csv]\n");
      return 2;
    }
  }
  if (precision != "bf16-mixed" && precision != "f32" && precision != "tf32") {
    fmt::print(stderr, "bench_train_throughput: --precision takes bf16-mixed, f32 or tf32 (got '{}')\n", precision);
    return 2;
  }
  const Tf32Scope tf32(precision == "tf32");  // as training.precision tf32: the whole step
  if (!cuda_is_available()) {
    fmt::print("bench_train_throughput: no CUDA device present; nothing measured\n");
    return 0;
  }
#if LOGLIN_WITH_CUDA
  fmt::print("| arch | T | B | precision | act. ckpt | params | ms/step | fwd / bwd / optim ms | tokens/s | model TFLOP/s | MFU (bf16 peak) | peak GiB |\n");
  fmt::print("|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  std::map<std::pair<int64_t, int64_t>, double> transformer_tps;  // (T, B) -> tokens/s, checkpointing off
  for (const std::string& arch : archs)
    for (Shape2 sh : parse_shapes(shapes))
      for (bool ckpt : checkpointing) {
        const char* on = ckpt ? "on" : "off";
        try {
          Result r = measure(arch, sh, precision == "bf16-mixed", ckpt, steps, profile);
          // Model FLOP/s and MFU count the model's FLOPs once: the recompute's extra forward is not credited.
          fmt::print("| {} | {} | {} | {} | {} | {:.1f}M | {:.1f} | {:.1f} / {:.1f} / {:.1f} | {:.0f} | {:.1f} | {:.1f}% | {:.1f} |\n",
                     arch, sh.T, sh.B, precision, on, r.params / 1e6, r.ms_per_step, r.fwd_ms, r.bwd_ms, r.opt_ms,
                     r.tokens_per_s, r.tflops, 100 * r.mfu, r.peak_gib);
          if (arch == "transformer" && !ckpt) transformer_tps[{sh.T, sh.B}] = r.tokens_per_s;
        } catch (const Error& e) {
          fmt::print("| {} | {} | {} | {} | {} | failed: {} |||||| \n", arch, sh.T, sh.B, precision, on, e.what());
        }
        std::fflush(stdout);
        cuda::empty_cache(0);
      }
  if (!peers.empty()) {
    // peer,T,B,tokens_per_s,ms_per_step,peak_MiB,note
    fmt::print("\nPeer, measured in this device call (bench/peers/train_peers.py): a PyTorch Llama, d768, 12 layers, "
               "SDPA, bf16 autocast, fused AdamW.\n\n");
    fmt::print("| peer | T | B | tokens/s | ms/step | peak GiB | loglin transformer / peer tokens/s |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|---:|\n");
    for (const std::vector<std::string>& f : bench::read_csv_rows(peers, "bench_train_throughput")) {
      if (f.size() < 6) continue;
      const int64_t T = std::atoll(f[1].c_str()), B = std::atoll(f[2].c_str());
      const double tps = std::strtod(f[3].c_str(), nullptr);
      auto ours = transformer_tps.find({T, B});
      fmt::print("| {} | {} | {} | {} | {} | {:.1f} | {} |{}\n", f[0], T, B, f[3], f[4],
                 std::strtod(f[5].c_str(), nullptr) / 1024.0,
                 ours == transformer_tps.end() ? std::string("-") : fmt::format("{:.2f}", ours->second / tps),
                 f.size() > 6 && !f[6].empty() ? " " + f[6] : "");
    }
  }
#endif
  return 0;
}

// Training on the GPU: the caching allocator reaches a steady state (no
// growth over 1000 steps), and the trainer trains from a YAML config with
// device: cuda in f32, bf16-mixed and tf32, with the loss falling as on the cpu.
#include <filesystem>
#include <fstream>

#include "catch.h"
#include "core/cuda_memory.h"
#include "core/rng.h"
#include "nn/models/language_model.h"
#include "ops/ops.h"
#include "train/optim/optimizer.h"
#include "train/trainer/metrics_log.h"
#include "train/trainer/trainer.h"

using namespace loglin;
namespace fs = std::filesystem;

TEST_CASE("cuda: the allocator stops growing, 1000 training steps", "[cuda][train]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(1);
  nn::LanguageModel model(nn::LMOptions("transformer", 64).d_model(32).n_layers(2).n_heads(2).max_seq_len(64), gen);
  model.to(Device::cuda());
  optim::AdamW opt(optim::decay_groups(model.named_parameters(), 0.1, false));
  Generator data_gen(2);
  Tensor ids = randint(0, 64, {4, 64}, DType::i64, data_gen).to(Device::cuda());
  Tensor targets = randint(0, 64, {4, 64}, DType::i64, data_gen).to(Device::cuda());
  auto train_step = [&] {
    Tensor loss = cross_entropy(model.forward(ids), targets, -100);
    loss.backward();
    optim::clip_grad_norm(model.parameters(), 1.0);
    opt.step(1e-3);
    opt.zero_grad();
  };  // everything a step made is gone when it returns
  MemoryStats settled{};
  for (int step = 0; step < 1000; ++step) {
    train_step();
    if (step == 9) settled = cuda::memory_stats(0);
  }
  MemoryStats end = cuda::memory_stats(0);
  INFO("after step 10: in use " << settled.bytes_in_use << " cached " << settled.cached_bytes << "; after 1000: in use "
                                << end.bytes_in_use << " cached " << end.cached_bytes);
  CHECK(end.bytes_in_use == settled.bytes_in_use);
  CHECK(end.bytes_in_use + end.cached_bytes <= settled.bytes_in_use + settled.cached_bytes);
  CHECK(end.total_allocations > settled.total_allocations);  // blocks were reused, not fresh
}

namespace {

std::vector<double> train_losses(const std::string& arch, const std::string& precision, const fs::path& dir) {
  fs::remove_all(dir / "run");
  std::string yaml = "model: {arch: " + arch + ", d_model: 32, n_layers: 1, n_heads: 2, head_dim: 16, d_state: 8, "
                     "chunk_size: 16, max_seq_len: 64}\n"
                     "data: {dataset: text, path: " + (dir / "corpus.txt").string() + ", seq_len: 64, batch_size: 8, "
                     "cache_dir: " + (dir / "cache").string() + "}\n"
                     "optimizer: {lr: 0.01}\nschedule: {warmup_steps: 5}\n"
                     "training: {steps: 40, eval_every: 40, eval_batches: 2, sample_tokens: 8, device: cuda, "
                     "precision: " + precision + "}\n"
                     "logging: {run_dir: " + (dir / "run").string() + ", progress: off}\n";
  Trainer(parse_config(yaml, "cuda")).run();
  std::vector<double> losses;
  for (const auto& r : read_metrics(dir / "run" / "metrics.jsonl"))
    if (r.kind == "train") losses.push_back(r.get("loss"));
  return losses;
}

}  // namespace

TEST_CASE("cuda: the trainer trains every architecture on the gpu, f32, bf16-mixed and tf32", "[cuda][train]") {
  LOGLIN_REQUIRE_CUDA();
  fs::path d = fs::temp_directory_path() / ("loglin_train_cuda_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  {
    std::ofstream f(d / "corpus.txt");
    for (int i = 0; i < 400; ++i) f << "the quick brown fox jumps over the lazy dog. ";
  }
  for (const char* arch : {"transformer", "mamba2", "loglinear_mamba2"})
    for (const char* precision : {"f32", "bf16-mixed", "tf32"}) {
      INFO(arch << " " << precision);
      std::vector<double> l = train_losses(arch, precision, d);
      REQUIRE(l.size() >= 2);
      CHECK(l.front() > 3.0);
      CHECK(l.back() < 0.6 * l.front());
    }
  fs::remove_all(d);
}

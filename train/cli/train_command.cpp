// `loglin train CONFIG [--set a.b=c ...] [--resume] [--gpus N]`: trains from
// a YAML config, in one process or, data parallel, one rank per GPU
// (train/cli/train_gpus.h).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "distributed/nccl_communicator.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/cli/train_gpus.h"
#include "train/trainer/train_data.h"
#include "train/trainer/trainer.h"

namespace loglin::cli {

namespace fs = std::filesystem;

namespace {
constexpr const char* kUsage = R"(usage: loglin train CONFIG [--set KEY=VALUE ...] [--resume] [--gpus N]

Trains the model a YAML config describes (see configs/ and the README's
config reference). The config is validated in full before anything is
written. The run directory (logging.run_dir) receives config.yaml,
metrics.jsonl and checkpoints/.

  --set KEY=VALUE   override a config key, e.g. --set training.steps=200
  --resume          same as --set checkpoint.resume=true: continue from the
                    run directory's latest checkpoint
  --gpus N          data-parallel training on N GPUs of this machine: starts
                    N processes of this program, one per GPU (cuda:0 ..
                    cuda:N-1; choose them with CUDA_VISIBLE_DEVICES), which
                    average their gradients through NCCL. data.batch_size is
                    the global batch: each GPU trains on batch_size / N rows
                    of it, so the loss curve does not depend on N (up to
                    rounding). Only rank 0 prints and writes into the run
                    directory. --gpus 1
                    trains in this process through the same NCCL path.
                    Needs a build with CUDA and NCCL and training.device
                    cuda or auto.

Processes started by another launcher (torchrun-style RANK / WORLD_SIZE /
LOCAL_RANK, mpirun, srun) train as the ranks of one data-parallel run
without --gpus; they meet through a file in $LOGLIN_RENDEZVOUS_DIR (default
<run_dir>/rendezvous), which every rank must see.
)";

bool user_rendezvous_dir() {
  const char* d = std::getenv("LOGLIN_RENDEZVOUS_DIR");
  return d && *d;
}

// `--gpus N` with N >= 2: this process only starts and watches the ranks.
int launch_ranks(const std::vector<std::string>& argv, int n, const TrainConfig& cfg) {
  // Fetch and tokenize the corpus once, here, rather than N times at once in
  // the ranks (each rank then finds the token cache).
  TrainData prepare(cfg.data, [](const std::string& s) { spdlog::info("{}", s); });
  const fs::path run_dir = cfg.logging.run_dir;
  const bool had_run_dir = fs::exists(run_dir);
  const std::string rdv = rendezvous_dir(cfg);
  const bool default_rdv = !user_rendezvous_dir();
  dist::clear_rendezvous({rdv});
  const int cpus = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto tidy = [&] {
    // Leave no rendezvous directory behind (nor a run directory that only held it).
    std::error_code ec;
    dist::clear_rendezvous({rdv});
    if (default_rdv) fs::remove(rdv, ec);  // only when empty
    if (!had_run_dir) fs::remove(run_dir, ec);
  };
  try {
    launch_and_wait(rank_processes("/proc/self/exe", without_gpus_flag(argv), n, rdv, cpus));
  } catch (...) {
    tidy();
    throw;
  }
  tidy();
  return 0;
}

}  // namespace

int train_command(const std::vector<std::string>& argv) {
  Args args("train", argv, {"--gpus"}, {"--resume"});
  if (args.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::vector<std::string> sets = args.sets();
  if (args.has("--resume")) sets.push_back("checkpoint.resume=true");
  TrainConfig cfg = load_config(args.positional("CONFIG"), sets);

  const dist::LaunchRank launch = dist::rank_from_env();
  const bool gpus_flag = args.has("--gpus");
  if (gpus_flag) {
    const int64_t n = args.get_int("--gpus", 1);
    LOGLIN_CHECK(launch.world_size == 1,
                 "[train] --gpus {} in a process that a launcher already made rank {} of {} ({} is set): leave --gpus "
                 "out under mpirun, srun or torchrun, or start loglin directly with --gpus",
                 n, launch.rank, launch.world_size, launch.source);
    check_gpus_request(n, cfg, this_machine());
    if (n > 1) return launch_ranks(argv, static_cast<int>(n), cfg);
  }

  // Data parallel: this process is one rank (of one, for --gpus 1).
  std::unique_ptr<dist::NcclCommunicator> comm;
  if (gpus_flag || launch.world_size > 1) {
    cfg.training.device = rank_device(cfg.training.device, launch.local_rank, launch.world_size);
    if (launch.rank != 0) spdlog::set_level(spdlog::level::warn);  // rank 0 alone reports progress
    if (gpus_flag && !user_rendezvous_dir()) {
      // --gpus 1: nobody else joins, so the id need not be in the run
      // directory, which the trainer has not validated yet.
      const fs::path dir = fs::temp_directory_path() / fmt::format("loglin_rendezvous_{}", ::getpid());
      dist::clear_rendezvous({dir.string()});
      comm = dist::NcclCommunicator::create(0, 1, 0, {dir.string()});
      std::error_code ec;
      fs::remove_all(dir, ec);
    } else {
      const dist::FileRendezvous rdv{rendezvous_dir(cfg)};
      if (gpus_flag) dist::clear_rendezvous(rdv);
      comm = dist::NcclCommunicator::create(launch.rank, launch.world_size, launch.local_rank, rdv);
    }
  }

  Trainer trainer(cfg, comm.get());
  TrainSummary s = trainer.run();
  if (launch.rank != 0) return 0;
  fmt::print("\ntrained {} steps ({} tokens) in {}{}\n", s.steps, s.tokens, s.run_dir,
             comm ? fmt::format(" on {} GPU(s), data parallel", comm->world_size()) : "");
  if (s.final_eval.accuracy >= 0) {
    fmt::print("final: val loss {:.4f}, MQAR accuracy {:.2f}%\n", s.final_eval.loss, 100 * s.final_eval.accuracy);
  } else {
    fmt::print("final: val loss {:.4f}, perplexity {:.2f}, bits per byte {:.4f}\n", s.final_eval.loss,
               s.final_eval.perplexity, s.final_eval.bits_per_byte);
  }
  fmt::print("throughput: {:.0f} tokens/s\n", s.tokens_per_s);
  if (!s.sample.empty()) fmt::print("sample:\n{}\n", s.sample);
  return 0;
}

}  // namespace loglin::cli

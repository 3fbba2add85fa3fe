// The data-parallel side of `loglin train` (distributed/README.md), both
// halves:
//
//   parent   `loglin train CONFIG --gpus N`: check the request against the
//            config, the build and the machine, then start N ranks of this
//            program (train/cli/launcher.h) with RANK, WORLD_SIZE,
//            LOCAL_RANK and LOGLIN_RENDEZVOUS_DIR set.
//   rank     a process that a launcher (this parent, mpirun, srun) made rank
//            r of N: train on cuda:LOCAL_RANK with an NCCL communicator that
//            meets the others in the rendezvous directory.
//
// `--gpus 1` starts nothing: the process itself is rank 0 of 1 through NCCL
// (the same code path as N ranks, useful to check NCCL on one GPU).
// The pieces are here, apart from train_command.cpp, so they can be tested
// without GPUs.
#pragma once
#include <string>
#include <vector>

#include "train/cli/launcher.h"
#include "train/config/config.h"

namespace loglin::cli {

// What this build and machine offer for several GPUs.
struct GpuMachine {
  bool cuda_built = false;
  bool nccl_built = false;
  int devices = 0;  // CUDA devices this process sees (after CUDA_VISIBLE_DEVICES)
};
GpuMachine this_machine();

// `--gpus n` against the config and the machine; each error names the
// problem and the fix: n < 1, a config on the cpu, a build without CUDA or
// NCCL, more GPUs than visible, a batch size n does not divide.
void check_gpus_request(int64_t n, const TrainConfig& cfg, const GpuMachine& machine);

// The train command's arguments without `--gpus N` / `--gpus=N` (what every
// rank runs; values of --set are left alone even when they look like flags).
std::vector<std::string> without_gpus_flag(const std::vector<std::string>& args);

// The N rank processes: `program` (normally /proc/self/exe) with
// argv = {"loglin", "train", train_args...}, and in the environment RANK,
// WORLD_SIZE, LOCAL_RANK (= RANK: one machine), LOGLIN_RENDEZVOUS_DIR, and
// OMP_NUM_THREADS = max(1, cpu_threads / N) unless the environment already
// sets it (N ranks of all-core OpenMP pools would fight over the cores).
std::vector<RankProcess> rank_processes(const std::string& program, const std::vector<std::string>& train_args, int n,
                                        const std::string& rendezvous_dir, int cpu_threads);

// Where the ranks meet: $LOGLIN_RENDEZVOUS_DIR, else <run_dir>/rendezvous.
std::string rendezvous_dir(const TrainConfig& cfg);

// training.device for the rank with this LOCAL_RANK: "cuda:<local_rank>".
// A config on the cpu, or naming one GPU (cuda:K), is an error with its fix.
std::string rank_device(const std::string& configured, int local_rank, int world_size);

}  // namespace loglin::cli

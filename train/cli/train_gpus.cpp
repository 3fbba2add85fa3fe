#include "train/cli/train_gpus.h"

#include <cstdlib>
#include <filesystem>

#include "core/device.h"
#include "core/error.h"
#include "distributed/nccl_communicator.h"

namespace loglin::cli {

namespace fs = std::filesystem;

GpuMachine this_machine() {
  GpuMachine m;
  m.cuda_built = built_with_cuda();
  m.nccl_built = dist::nccl_available();
  m.devices = m.cuda_built ? cuda_device_count() : 0;
  return m;
}

std::string rank_device(const std::string& configured, int local_rank, int world_size) {
  LOGLIN_CHECK(configured != "cpu",
               "[train] data-parallel training over {} rank(s) runs one rank per GPU, but training.device is cpu: set "
               "training.device: cuda (or auto), or train on the cpu in one process without --gpus",
               world_size);
  LOGLIN_CHECK(configured.rfind("cuda:", 0) != 0,
               "[train] training.device: {} names one GPU, but with data parallelism each rank trains on "
               "cuda:LOCAL_RANK: set training.device: cuda (or auto), and choose the GPUs with CUDA_VISIBLE_DEVICES",
               configured);
  return fmt::format("cuda:{}", local_rank);
}

void check_gpus_request(int64_t n, const TrainConfig& cfg, const GpuMachine& m) {
  LOGLIN_CHECK(n >= 1, "[train] --gpus {}: the number of GPUs must be at least 1 (or leave --gpus out to train in one "
                       "process on training.device)", n);
  (void)rank_device(cfg.training.device, 0, static_cast<int>(n));
  LOGLIN_CHECK(m.cuda_built,
               "[train] --gpus {}: this loglin was built without CUDA; rebuild with -DLOGLIN_CUDA=ON on a machine with "
               "nvcc and NCCL, or leave --gpus out to train on the cpu",
               n);
  LOGLIN_CHECK(m.nccl_built,
               "[train] --gpus {}: this loglin was built without NCCL (CMake did not find nccl.h and libnccl next to "
               "CUDA); install NCCL (e.g. the libnccl-dev package) and reconfigure, or leave --gpus out to train on one "
               "GPU",
               n);
  const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
  const std::string where = visible ? fmt::format(" (CUDA_VISIBLE_DEVICES={})", visible) : std::string();
  LOGLIN_CHECK(m.devices > 0, "[train] --gpus {}: no CUDA device is visible{}; leave --gpus out to train on the cpu",
               n, where);
  LOGLIN_CHECK(n <= m.devices, "[train] --gpus {}: only {} CUDA device(s) are visible{}; use --gpus {} or fewer", n,
               m.devices, where, m.devices);
  LOGLIN_CHECK(cfg.data.batch_size % n == 0,
               "[train] --gpus {}: data.batch_size {} is not a multiple of {}: each GPU trains on batch_size / {} rows of "
               "every batch; choose a batch size divisible by {} (e.g. --set data.batch_size={})",
               n, cfg.data.batch_size, n, n, n, ((cfg.data.batch_size + n - 1) / n) * n);
}

std::vector<std::string> without_gpus_flag(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--gpus") {
      ++i;  // and its value
      continue;
    }
    if (a.rfind("--gpus=", 0) == 0) continue;
    out.push_back(a);
    if (a == "--set" && i + 1 < args.size()) out.push_back(args[++i]);
  }
  return out;
}

std::vector<RankProcess> rank_processes(const std::string& program, const std::vector<std::string>& train_args, int n,
                                        const std::string& rendezvous_dir, int cpu_threads) {
  std::vector<std::string> argv = {"loglin", "train"};
  argv.insert(argv.end(), train_args.begin(), train_args.end());
  const bool omp_set = std::getenv("OMP_NUM_THREADS") != nullptr;
  std::vector<RankProcess> ranks;
  for (int r = 0; r < n; ++r) {
    RankProcess p{program, argv, {}};
    p.env = {{"RANK", std::to_string(r)},
             {"WORLD_SIZE", std::to_string(n)},
             {"LOCAL_RANK", std::to_string(r)},
             {"LOGLIN_RENDEZVOUS_DIR", rendezvous_dir}};
    if (!omp_set) p.env.emplace_back("OMP_NUM_THREADS", std::to_string(std::max(1, cpu_threads / n)));
    ranks.push_back(std::move(p));
  }
  return ranks;
}

std::string rendezvous_dir(const TrainConfig& cfg) {
  if (const char* d = std::getenv("LOGLIN_RENDEZVOUS_DIR"); d && *d) return d;
  return (fs::path(cfg.logging.run_dir) / "rendezvous").string();
}

}  // namespace loglin::cli

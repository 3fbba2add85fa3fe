// `loglin train --gpus N` without GPUs: the checks of a request against the
// config, build and machine (each error names the problem and its fix), the
// rank processes' arguments and environment, and the device each rank takes.
#include <string>
#include <vector>

#include "catch.h"
#include "test_util.h"
#include "train/cli/train_gpus.h"

using namespace loglin;

namespace {

TrainConfig gpu_config(const std::string& device = "cuda", int batch = 8) {
  std::string yaml = R"(
model: {arch: transformer, d_model: 16, n_layers: 1, n_heads: 2, max_seq_len: 32}
data: {dataset: mqar, batch_size: BATCH, mqar: {num_pairs: 2, vocab_size: 16, seq_len: 16}}
training: {steps: 2, device: DEVICE}
logging: {run_dir: /tmp/loglin_gpus_run}
)";
  yaml.replace(yaml.find("BATCH"), 5, std::to_string(batch));
  yaml.replace(yaml.find("DEVICE"), 6, device);
  return parse_config(yaml, "gpu_config");
}

std::string check_error(int64_t n, const TrainConfig& cfg, cli::GpuMachine m) {
  return loglin_test::error_message([&] { cli::check_gpus_request(n, cfg, m); });
}

const cli::GpuMachine kFourGpus{true, true, 4};

}  // namespace

TEST_CASE("train with --gpus: a request the machine and config allow passes", "[train][launch]") {
  CHECK(check_error(1, gpu_config(), kFourGpus).empty());
  CHECK(check_error(4, gpu_config("auto"), kFourGpus).empty());
  CHECK(check_error(2, gpu_config("cuda", 6), kFourGpus).empty());
}

TEST_CASE("train with --gpus: each bad request names the problem and the fix", "[train][launch]") {
  std::string e = check_error(0, gpu_config(), kFourGpus);
  CHECK(loglin_test::contains(e, "--gpus 0: the number of GPUs must be at least 1"));
  e = check_error(-2, gpu_config(), kFourGpus);
  CHECK(loglin_test::contains(e, "--gpus -2"));

  e = check_error(2, gpu_config("cpu"), kFourGpus);
  CHECK(loglin_test::contains(e, "training.device is cpu"));
  CHECK(loglin_test::contains(e, "set training.device: cuda"));
  e = check_error(2, gpu_config("cuda:1"), kFourGpus);
  CHECK(loglin_test::contains(e, "training.device: cuda:1 names one GPU"));
  CHECK(loglin_test::contains(e, "CUDA_VISIBLE_DEVICES"));

  e = check_error(2, gpu_config(), cli::GpuMachine{false, false, 0});
  CHECK(loglin_test::contains(e, "built without CUDA"));
  CHECK(loglin_test::contains(e, "-DLOGLIN_CUDA=ON"));
  e = check_error(2, gpu_config(), cli::GpuMachine{true, false, 2});
  CHECK(loglin_test::contains(e, "built without NCCL"));
  CHECK(loglin_test::contains(e, "reconfigure"));

  {
    loglin_test::EnvVar visible("CUDA_VISIBLE_DEVICES", nullptr);
    e = check_error(8, gpu_config(), kFourGpus);
    CHECK(loglin_test::contains(e, "--gpus 8: only 4 CUDA device(s) are visible; use --gpus 4 or fewer"));
  }
  {
    loglin_test::EnvVar visible("CUDA_VISIBLE_DEVICES", nullptr);
    e = check_error(1, gpu_config(), cli::GpuMachine{true, true, 0});
    CHECK(loglin_test::contains(e, "--gpus 1: no CUDA device is visible; leave --gpus out to train on the cpu"));
  }
  {
    loglin_test::EnvVar visible("CUDA_VISIBLE_DEVICES", "2,3");
    e = check_error(3, gpu_config(), cli::GpuMachine{true, true, 2});
    CHECK(loglin_test::contains(e, "only 2 CUDA device(s) are visible (CUDA_VISIBLE_DEVICES=2,3)"));
  }

  e = check_error(4, gpu_config("cuda", 6), kFourGpus);
  CHECK(loglin_test::contains(e, "data.batch_size 6 is not a multiple of 4"));
  CHECK(loglin_test::contains(e, "--set data.batch_size=8"));
}

TEST_CASE("train with --gpus: the ranks run the same arguments without --gpus, with their rank in the environment",
          "[train][launch]") {
  const std::vector<std::string> args = {"c.yaml", "--gpus", "2", "--set", "--gpus", "--gpus=2", "--resume",
                                         "--set", "training.steps=5"};
  const std::vector<std::string> stripped = cli::without_gpus_flag(args);
  // "--set --gpus" is a (bad) override that the config loader reports; it is not our flag.
  CHECK(stripped == std::vector<std::string>{"c.yaml", "--set", "--gpus", "--resume", "--set", "training.steps=5"});

  loglin_test::EnvVar omp("OMP_NUM_THREADS", nullptr);
  const auto ranks = cli::rank_processes("/proc/self/exe", {"c.yaml", "--resume"}, 3, "/runs/x/rendezvous", 16);
  REQUIRE(ranks.size() == 3);
  for (int r = 0; r < 3; ++r) {
    INFO("rank " << r);
    CHECK(ranks[r].program == "/proc/self/exe");
    CHECK(ranks[r].argv == std::vector<std::string>{"loglin", "train", "c.yaml", "--resume"});
    const std::vector<std::pair<std::string, std::string>> want = {{"RANK", std::to_string(r)},
                                                                   {"WORLD_SIZE", "3"},
                                                                   {"LOCAL_RANK", std::to_string(r)},
                                                                   {"LOGLIN_RENDEZVOUS_DIR", "/runs/x/rendezvous"},
                                                                   {"OMP_NUM_THREADS", "5"}};
    CHECK(ranks[r].env == want);
  }
  loglin_test::EnvVar omp_set("OMP_NUM_THREADS", "2");
  const auto mine = cli::rank_processes("/proc/self/exe", {"c.yaml"}, 2, "/r", 16);
  for (const auto& [k, v] : mine[0].env) CHECK(k != "OMP_NUM_THREADS");  // the user's choice stands
}

TEST_CASE("train with --gpus: each rank trains on cuda:LOCAL_RANK, and meets the others in the rendezvous directory",
          "[train][launch]") {
  CHECK(cli::rank_device("cuda", 3, 4) == "cuda:3");
  CHECK(cli::rank_device("auto", 0, 2) == "cuda:0");
  CHECK(loglin_test::contains(loglin_test::error_message([] { cli::rank_device("cpu", 1, 2); }),
                              "over 2 rank(s) runs one rank per GPU, but training.device is cpu"));
  CHECK(loglin_test::contains(loglin_test::error_message([] { cli::rank_device("cuda:0", 1, 2); }), "names one GPU"));
  {
    loglin_test::EnvVar rdv("LOGLIN_RENDEZVOUS_DIR", nullptr);
    CHECK(cli::rendezvous_dir(gpu_config()) == "/tmp/loglin_gpus_run/rendezvous");
  }
  loglin_test::EnvVar rdv("LOGLIN_RENDEZVOUS_DIR", "/shared/rdv");
  CHECK(cli::rendezvous_dir(gpu_config()) == "/shared/rdv");
}

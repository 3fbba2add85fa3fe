// The `loglin` command-line program: dispatches to a subcommand and turns
// any loglin::Error into one line on stderr and exit code 1.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <exception>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"
#include "distributed/launch_rank.h"
#include "ops/kernel_registry.h"
#include "ops/precision.h"
#include "train/cli/commands.h"

namespace {

constexpr const char* kUsage = R"(usage: loglin <command> [args]

commands:
  train CONFIG      train a model from a YAML config (--gpus N: on N GPUs)
  eval CHECKPOINT   validation loss, perplexity, bits per byte (MQAR: accuracy)
  generate CHECKPOINT --prompt TEXT --tokens N   sample text from a model
  export RUN --hf DIR   write a model in its Hugging Face twin's layout
  import DIR --config OUT.yaml   a Hugging Face model directory into a run
  info CONFIG       the architecture a config builds and its parameter table
  plot RUN          draw train/val loss against tokens as a PNG (gnuplot)
  sweep SWEEP       train a grid of configs (resumable); sweep.csv, summary.md
  gradcheck [OP]    check every op's backward against finite differences
  kernels           list the ops' CUDA kernel versions and which one each takes
  tokenizer ...     train a BPE tokenizer on text; encode or decode with one
  config ...        check a config (with --set overrides); list every key
  version           print the version and build options

Run `loglin <command> --help` for a command's options.
)";

// " (rank 1)" in a data-parallel rank (errors then say which rank failed), else "".
std::string rank_tag() {
  try {
    const loglin::dist::LaunchRank r = loglin::dist::rank_from_env();
    return r.world_size > 1 ? fmt::format(" (rank {})", r.rank) : "";
  } catch (const std::exception&) {
    return "";
  }
}

}  // namespace

// OpenMP threads that spin between parallel regions take the cores from
// everything else on a small machine (measured: 8x slower training steps
// when another process competes for 2 cores). libgomp reads its wait policy
// once, when it loads, so the program restarts itself with the policy set,
// unless the user chose one.
void prefer_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: then run as is
}

int main(int argc, char** argv) {
  prefer_passive_openmp_wait(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    // A typo in LOGLIN_KERNELS or LOGLIN_FLOAT32_MATMUL_PRECISION fails here,
    // before any work, not at the first call of an op.
    loglin::check_kernel_environment();
    (void)loglin::float32_matmul_precision();
    if (cmd == "kernels") return loglin::cli::kernels_command(rest);
    if (cmd == "train") return loglin::cli::train_command(rest);
    if (cmd == "eval") return loglin::cli::eval_command(rest);
    if (cmd == "generate") return loglin::cli::generate_command(rest);
    if (cmd == "export") return loglin::cli::export_command(rest);
    if (cmd == "import") return loglin::cli::import_command(rest);
    if (cmd == "info") return loglin::cli::info_command(rest);
    if (cmd == "plot") return loglin::cli::plot_command(rest);
    if (cmd == "sweep") return loglin::cli::sweep_command(rest);
    if (cmd == "gradcheck") return loglin::cli::gradcheck_command(rest);
    if (cmd == "tokenizer") return loglin::cli::tokenizer_command(rest);
    if (cmd == "config") return loglin::cli::config_command(rest);
    if (cmd == "version" || cmd == "--version") {
      fmt::print("loglin 0.1.0 (CUDA backend: {}, devices: {})\n", loglin::built_with_cuda() ? "built" : "not built",
                 loglin::cuda_device_count());
      return 0;
    }
    fmt::print(stderr, "loglin: unknown command '{}'\n{}", cmd, kUsage);
    return 2;
  } catch (const loglin::Error& e) {
    fmt::print(stderr, "loglin{}: {}\n", rank_tag(), e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "loglin{}: unexpected error: {}\n", rank_tag(), e.what());
    return 1;
  }
}

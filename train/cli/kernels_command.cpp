// `loglin kernels`: the ops with several CUDA kernel versions, each version's
// rank and reach, and which one each op takes now (LOGLIN_KERNELS or auto),
// plus the float32 matmul precision. The first stop when asking "why is this
// call slow?"; LOGLIN_EXPLAIN=1 then shows the plan of each call.
#include <fmt/format.h>

#include "core/device.h"
#include "ops/kernel_registry.h"
#include "ops/precision.h"
#include "train/cli/commands.h"

namespace loglin::cli {

int kernels_command(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "-h" || args[0] == "--help")) {
    fmt::print(
        "usage: loglin kernels\n\n"
        "Lists every op with several CUDA kernel versions: name, rank, whether auto may pick it, what it\n"
        "takes, and the current choice (set with LOGLIN_KERNELS=op=version,...). Also prints the float32\n"
        "matmul precision (LOGLIN_FLOAT32_MATMUL_PRECISION=highest|high). LOGLIN_EXPLAIN=1 prints the plan\n"
        "of each distinct call while a command runs.\n");
    return 0;
  }
  LOGLIN_CHECK(args.empty(), "[kernels] takes no arguments, got '{}' (see loglin kernels --help)", args[0]);
  fmt::print("float32 matmul precision: {}\n", float32_matmul_precision_name(float32_matmul_precision()));
  if (!built_with_cuda()) fmt::print("this loglin was built without CUDA: every op runs its CPU code\n");
  fmt::print("\n| op | choice | version | rank | in auto | takes |\n|---|---|---|---:|---|---|\n");
  for (const OpKernelVersions& op : registered_kernel_versions()) {
    const std::string choice = kernel_version_choice(op.op);
    if (op.versions.empty()) fmt::print("| {} | {} | - | - | - | (no CUDA) |\n", op.op, choice);
    for (const KernelVersionInfo& v : op.versions)
      fmt::print("| {} | {} | {} | {} | {} | {} |\n", op.op, choice, v.name, v.rank, v.in_auto ? "yes" : "no",
                 v.about);
  }
  return 0;
}

}  // namespace loglin::cli

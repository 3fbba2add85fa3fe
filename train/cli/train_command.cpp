// `loglin train CONFIG`. The trainer (YAML configs, models, data,
// checkpoints) is step 3/6 of the plan and is not written yet; until then
// this says so and fails, rather than pretending to train.
#include <fmt/format.h>

#include <cstdio>

#include "train/cli/commands.h"

namespace loglin::cli {

int train_command(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "-h" || a == "--help") {
      std::fputs("usage: loglin train CONFIG\n\nTrains a model from a YAML config (not available yet: see below).\n",
                 stdout);
      return 0;
    }
  fmt::print(stderr,
             "loglin train: no trainer yet. The YAML-driven trainer arrives with step 3/6 (nn API, models, "
             "trainer); this build has the tensor library, autograd, the CPU ops and gradcheck.\n");
  return 2;
}

}  // namespace loglin::cli

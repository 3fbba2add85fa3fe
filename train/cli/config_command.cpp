// `loglin config check CONFIG [--set KEY=VALUE ...]`: validates a config and
// prints it fully resolved; `loglin config keys`: the reference table.
#include <fmt/format.h>

#include <cstdio>

#include "core/error.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/config/config.h"

namespace loglin::cli {
namespace {

constexpr const char* kUsage = R"(usage: loglin config check CONFIG [--set KEY=VALUE ...]
       loglin config keys

  check   validate CONFIG (with the --set overrides applied, as `loglin train`
          would) and print the fully resolved YAML; exits 1 on the first error
  keys    print every config key with its type, default, allowed values and
          meaning, as a Markdown table

  --set KEY=VALUE   override one key, e.g. --set optimizer.lr=1e-3
                    (repeatable; nested keys too: data.mqar.num_pairs=16)
)";

}  // namespace

int config_command(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& sub = args[0];
  if (sub == "-h" || sub == "--help" || sub == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (sub == "keys") {
    if (args.size() == 2 && (args[1] == "-h" || args[1] == "--help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    LOGLIN_CHECK(args.size() == 1, "[config] `loglin config keys` takes no arguments, got '{}'", args[1]);
    std::fputs(config_reference_markdown().c_str(), stdout);
    return 0;
  }
  LOGLIN_CHECK(sub == "check", "[config] unknown subcommand '{}' (expected check or keys; see loglin config --help)",
               sub);
  Args o("config check", std::vector<std::string>(args.begin() + 1, args.end()), {});
  if (o.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  const std::string path = o.positional("CONFIG");
  TrainConfig config = load_config(path, o.sets());
  std::fputs(to_yaml(config).c_str(), stdout);
  fmt::print(stderr, "{}: valid\n", path);
  return 0;
}

}  // namespace loglin::cli

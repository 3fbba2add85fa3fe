// The `loglin` subcommands. Each takes its own arguments (after the
// subcommand name) and returns the process exit code.
#pragma once
#include <string>
#include <vector>

namespace loglin::cli {

int config_command(const std::vector<std::string>& args);
int gradcheck_command(const std::vector<std::string>& args);
int tokenizer_command(const std::vector<std::string>& args);
int train_command(const std::vector<std::string>& args);

}  // namespace loglin::cli

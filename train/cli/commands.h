// The `loglin` subcommands. Each takes its own arguments (after the
// subcommand name) and returns the process exit code.
#pragma once
#include <string>
#include <vector>

namespace loglin::cli {

int eval_command(const std::vector<std::string>& args);
int export_command(const std::vector<std::string>& args);
int generate_command(const std::vector<std::string>& args);
int info_command(const std::vector<std::string>& args);
int kernels_command(const std::vector<std::string>& args);
int plot_command(const std::vector<std::string>& args);
int config_command(const std::vector<std::string>& args);
int sweep_command(const std::vector<std::string>& args);
int gradcheck_command(const std::vector<std::string>& args);
int import_command(const std::vector<std::string>& args);
int tokenizer_command(const std::vector<std::string>& args);
int train_command(const std::vector<std::string>& args);

}  // namespace loglin::cli

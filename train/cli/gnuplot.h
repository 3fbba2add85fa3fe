// Drawing a PNG with gnuplot, for `loglin plot`: the data files and the
// script go to a scratch directory, gnuplot draws into a temporary PNG
// beside the output, which is renamed into place only when gnuplot succeeded.
//
//   draw_png("plot", {{"train.dat", "0 1.2\n"}}, [](const auto& dir) {
//     return fmt::format("plot '{}' using 1:2 with lines\n", (dir / "train.dat").string()); }, "loss.png");
#pragma once
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace loglin::cli {

// Throws "[who] gnuplot was not found ..." when gnuplot is not installed.
void require_gnuplot(const std::string& who);

// `plot` returns the gnuplot commands after the terminal and output lines
// (which draw_png writes); data files are found under the directory it is given.
void draw_png(const std::string& who, const std::vector<std::pair<std::string, std::string>>& data_files,
              const std::function<std::string(const std::filesystem::path& data_dir)>& plot,
              const std::filesystem::path& out);

}  // namespace loglin::cli

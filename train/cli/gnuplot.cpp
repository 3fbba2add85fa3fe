#include "train/cli/gnuplot.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>

#include "core/error.h"
#include "train/checkpoint/file_io.h"

namespace loglin::cli {
namespace fs = std::filesystem;

void require_gnuplot(const std::string& who) {
  LOGLIN_CHECK(std::system("command -v gnuplot >/dev/null 2>&1") == 0,
               "[{}] gnuplot was not found: install it (apt-get install gnuplot-nox)", who);
}

void draw_png(const std::string& who, const std::vector<std::pair<std::string, std::string>>& data_files,
              const std::function<std::string(const fs::path& data_dir)>& plot, const fs::path& out) {
  require_gnuplot(who);
  const fs::path tmp = fs::temp_directory_path() / fmt::format("loglin_{}_{}", who, ::getpid());
  fs::create_directories(tmp);
  const fs::path png_tmp = out.string() + ".tmp.png";
  int rc = -1;
  try {
    for (const auto& [name, text] : data_files) io::write_file_atomic(tmp / name, text);
    const std::string script =
        fmt::format("set terminal pngcairo size 900,540 noenhanced\nset output '{}'\n", png_tmp.string()) + plot(tmp);
    io::write_file_atomic(tmp / "plot.gp", script);
    rc = std::system(fmt::format("gnuplot '{}'", (tmp / "plot.gp").string()).c_str());
  } catch (...) {
    fs::remove_all(tmp);
    throw;
  }
  fs::remove_all(tmp);
  LOGLIN_CHECK(rc == 0 && fs::exists(png_tmp), "[{}] gnuplot failed (exit {})", who, rc);
  fs::rename(png_tmp, out);
}

}  // namespace loglin::cli

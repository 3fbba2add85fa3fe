// `loglin plot RUN [--output FILE]`: train and validation loss against
// tokens, drawn by gnuplot into a PNG (RUN/loss.png by default).
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <unistd.h>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/trainer/metrics_log.h"

namespace loglin::cli {
namespace fs = std::filesystem;

int plot_command(const std::vector<std::string>& argv) {
  Args args("plot", argv, {"--output"});
  if (args.help()) {
    std::fputs("usage: loglin plot RUN [--output FILE.png]\n\nDraws train and validation loss against tokens from "
               "RUN/metrics.jsonl with gnuplot (default output RUN/loss.png).\n", stdout);
    return 0;
  }
  fs::path run = args.positional("RUN");
  auto rows = read_metrics(run / "metrics.jsonl");
  std::string train, val;
  for (const auto& r : rows) {
    if (r.kind == "train") train += fmt::format("{} {}\n", r.get("tokens"), r.get("loss"));
    if (r.kind == "eval") val += fmt::format("{} {}\n", r.get("tokens"), r.get("val_loss"));
  }
  LOGLIN_CHECK(!train.empty(), "[plot] {} has no training rows", (run / "metrics.jsonl").string());
  LOGLIN_CHECK(std::system("command -v gnuplot >/dev/null 2>&1") == 0,
               "[plot] gnuplot was not found: install it (apt-get install gnuplot-nox)");
  fs::path out = args.get("--output", (run / "loss.png").string());
  fs::path tmp = fs::temp_directory_path() / fmt::format("loglin_plot_{}", ::getpid());
  fs::create_directories(tmp);
  io::write_file_atomic(tmp / "train.dat", train);
  io::write_file_atomic(tmp / "val.dat", val.empty() ? std::string("0 0\n") : val);
  fs::path png_tmp = out.string() + ".tmp.png";
  std::string script = fmt::format(
      "set terminal pngcairo size 900,540 noenhanced\nset rmargin 6\nset output '{}'\nset title 'loss: {}'\n"
      "set xlabel 'tokens'\nset ylabel 'loss (nats/token)'\nset grid\nset key top right\n"
      "plot '{}' using 1:2 with lines lw 1 lc rgb '#4477aa' title 'train', "
      "'{}' using 1:2 with linespoints lw 2 pt 7 lc rgb '#ee6677' title 'val'\n",
      png_tmp.string(), run.filename().string(), (tmp / "train.dat").string(), (tmp / "val.dat").string());
  if (val.empty()) script = script.substr(0, script.rfind(", '")) + "\n";
  io::write_file_atomic(tmp / "plot.gp", script);
  int rc = std::system(fmt::format("gnuplot '{}'", (tmp / "plot.gp").string()).c_str());
  fs::remove_all(tmp);
  LOGLIN_CHECK(rc == 0 && fs::exists(png_tmp), "[plot] gnuplot failed (exit {})", rc);
  fs::rename(png_tmp, out);
  fmt::print("wrote {}\n", out.string());
  return 0;
}

}  // namespace loglin::cli

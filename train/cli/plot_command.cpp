// `loglin plot RUN [--output FILE]`: train and validation loss against
// tokens, drawn by gnuplot into a PNG (RUN/loss.png by default).
// `loglin plot SWEEP_DIR --x KEY ...` draws a sweep instead (sweep_plot.h).
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/cli/gnuplot.h"
#include "train/cli/sweep_plot.h"
#include "train/trainer/metrics_log.h"

namespace loglin::cli {
namespace fs = std::filesystem;

int plot_command(const std::vector<std::string>& argv) {
  Args args("plot", argv, {"--output", "--x", "--lines", "--y"});
  if (args.help()) {
    std::fputs("usage: loglin plot RUN [--output FILE.png]\n"
               "       loglin plot SWEEP_DIR --x KEY [--lines KEY] [--y METRIC] [--output FILE.png]\n\n"
               "Draws train and validation loss against tokens from RUN/metrics.jsonl with gnuplot (default output "
               "RUN/loss.png).\n\n", stdout);
    std::fputs(kSweepPlotHelp, stdout);
    return 0;
  }
  fs::path run = args.positional("RUN");
  if (args.has("--x") || args.has("--lines") || args.has("--y") ||
      (fs::exists(run / "sweep.csv") && !fs::exists(run / "metrics.jsonl")))
    return sweep_plot(args);
  auto rows = read_metrics(run / "metrics.jsonl");
  std::string train, val;
  for (const auto& r : rows) {
    if (r.kind == "train") train += fmt::format("{} {}\n", r.get("tokens"), r.get("loss"));
    if (r.kind == "eval") val += fmt::format("{} {}\n", r.get("tokens"), r.get("val_loss"));
  }
  LOGLIN_CHECK(!train.empty(), "[plot] {} has no training rows", (run / "metrics.jsonl").string());
  fs::path out = args.get("--output", (run / "loss.png").string());
  draw_png("plot", {{"train.dat", train}, {"val.dat", val}}, [&](const fs::path& dir) {
    std::string script = fmt::format(
        "set rmargin 6\nset title 'loss: {}'\nset xlabel 'tokens'\nset ylabel 'loss (nats/token)'\nset grid\n"
        "set key top right\nplot '{}' using 1:2 with lines lw 1 lc rgb '#4477aa' title 'train'",
        run.filename().string(), (dir / "train.dat").string());
    if (!val.empty())
      script += fmt::format(", '{}' using 1:2 with linespoints lw 2 pt 7 lc rgb '#ee6677' title 'val'",
                            (dir / "val.dat").string());
    return script + "\n";
  }, out);
  fmt::print("wrote {}\n", out.string());
  return 0;
}

}  // namespace loglin::cli

#include "train/cli/sweep_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/cli/gnuplot.h"
#include "train/sweep/sweep_report.h"

namespace loglin::cli {
namespace fs = std::filesystem;
using sweep::SweepSettings;

const char* const kSweepPlotHelp = R"(With a sweep directory (written by `loglin sweep`) it draws METRIC against
the grid key --x, one line per value of --lines, choosing points as
summary.md does: in each group and seed the best point over the grid keys not
drawn (the learning rate, say) by the sweep's select metric; then the mean
over the seeds, with their std as error bars. METRIC defaults to the select
metric. An x axis of positive numbers spanning 8x or more is drawn in log
scale. Default output: SWEEP_DIR/METRIC_vs_KEY.png.

  loglin plot runs/mqar --x model.d_model --lines model.arch --y val_accuracy
)";

namespace {

bool as_number(const std::string& s, double& v) {
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(v);
}

// Inside a single-quoted gnuplot string a quote is written twice.
std::string gp_quote(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out;
}

// A double-quoted gnuplot string interprets backslash escapes.
std::string gp_dquote(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '"' || c == '\\' ? std::string("\\") + c : std::string(1, c);
  return out;
}

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

struct Series {
  std::string label;
  std::vector<std::string> x;
  std::vector<double> mean, sd;
};

}  // namespace

int sweep_plot(const Args& args) {
  const fs::path dir = args.positional("SWEEP_DIR");
  const fs::path settings_file = dir / "sweep_settings.yaml", csv_file = dir / "sweep.csv";
  LOGLIN_CHECK(fs::exists(settings_file) && fs::exists(csv_file),
               "[plot] {} is not a sweep directory: it lacks {} (`loglin sweep` writes both sweep.csv and "
               "sweep_settings.yaml)", dir.string(), fs::exists(csv_file) ? "sweep_settings.yaml" : "sweep.csv");
  const SweepSettings settings = sweep::parse_settings(io::read_file(settings_file), settings_file.string());
  const auto rows = sweep::parse_sweep_csv(io::read_file(csv_file), settings, csv_file.string());
  const std::string keys = joined(settings.grid_keys, ", ");
  LOGLIN_CHECK(args.has("--x"), "[plot] drawing a sweep needs --x KEY, one of its grid keys: {}", keys);
  const std::string x = args.get("--x", ""), lines = args.get("--lines", ""), y = args.get("--y", settings.metric);
  auto is_grid_key = [&](const std::string& k) {
    return std::find(settings.grid_keys.begin(), settings.grid_keys.end(), k) != settings.grid_keys.end();
  };
  LOGLIN_CHECK(is_grid_key(x), "[plot] --x {} is not a grid key of the sweep; they are: {}", x, keys);
  LOGLIN_CHECK(lines.empty() || is_grid_key(lines), "[plot] --lines {} is not a grid key of the sweep; they are: {}",
               lines, keys);
  LOGLIN_CHECK(lines != x, "[plot] --x and --lines are both {}", x);

  // Group as summary.md does, with the drawn keys added to the groups.
  SweepSettings drawn = settings;
  drawn.group_by.clear();
  std::vector<std::string> free;
  for (const auto& k : settings.grid_keys) {
    const bool grouped = std::find(settings.group_by.begin(), settings.group_by.end(), k) != settings.group_by.end();
    if (grouped || k == x || k == lines) drawn.group_by.push_back(k);
    else free.push_back(k);
  }
  const auto groups = sweep::summarize(drawn, rows);
  LOGLIN_CHECK(!groups.empty(), "[plot] {} has no points", csv_file.string());
  const auto& metrics = groups.front().metrics;
  const auto mit = std::find(metrics.begin(), metrics.end(), y);
  LOGLIN_CHECK(mit != metrics.end(), "[plot] --y {} is not a final metric of the sweep; they are: {}", y,
               joined(metrics, ", "));
  const size_t m = static_cast<size_t>(mit - metrics.begin());

  // One series per combination of the group keys other than x.
  std::vector<Series> series;
  std::map<std::vector<std::string>, size_t> series_of;
  bool numeric = true;
  std::vector<std::string> categories;
  for (const auto& g : groups) {
    if (g.seeds.empty() || std::isnan(g.mean[m])) continue;
    std::vector<std::string> key, label;
    std::string xv;
    for (size_t i = 0; i < drawn.group_by.size(); ++i) {
      const std::string& k = drawn.group_by[i];
      if (k == x) {
        xv = g.group[i];
        continue;
      }
      key.push_back(g.group[i]);
      label.push_back(k == lines ? g.group[i] : k + "=" + g.group[i]);
    }
    auto [it, fresh] = series_of.emplace(key, series.size());
    if (fresh) {
      series.emplace_back();
      series.back().label = label.empty() ? y : joined(label, ", ");
    }
    Series& s = series[it->second];
    s.x.push_back(xv);
    s.mean.push_back(g.mean[m]);
    s.sd.push_back(g.std[m]);
    double v = 0;
    numeric = numeric && as_number(xv, v);
    if (std::find(categories.begin(), categories.end(), xv) == categories.end()) categories.push_back(xv);
  }
  LOGLIN_CHECK(!series.empty(), "[plot] {} has no finished points with a {} to draw", csv_file.string(), y);

  std::vector<std::pair<std::string, std::string>> files;
  double lo = INFINITY, hi = -INFINITY;
  bool pow2 = true;
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    std::vector<size_t> order(s.x.size());
    for (size_t j = 0; j < order.size(); ++j) order[j] = j;
    std::string text;
    if (numeric) {
      auto num = [](const std::string& t) { return std::strtod(t.c_str(), nullptr); };
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return num(s.x[a]) < num(s.x[b]); });
      for (size_t j : order) {
        const double v = num(s.x[j]);
        lo = std::min(lo, v), hi = std::max(hi, v);
        pow2 = pow2 && v >= 1 && v == std::floor(v) && (int64_t(v) & (int64_t(v) - 1)) == 0;
        text += fmt::format("{} {} {}\n", v, s.mean[j], s.sd[j]);
      }
    } else {
      for (size_t j : order) {
        const size_t c = static_cast<size_t>(std::find(categories.begin(), categories.end(), s.x[j]) - categories.begin());
        text += fmt::format("{} {} {} \"{}\"\n", c, s.mean[j], s.sd[j], s.x[j]);
      }
    }
    files.emplace_back(fmt::format("line{}.dat", i), text);
  }

  const fs::path out = args.get("--output", (dir / fmt::format("{}_vs_{}.png", y, x)).string());
  draw_png("plot", files, [&](const fs::path& data_dir) {
    // Two title lines: what is drawn, then how the points were chosen.
    std::string how = "mean and std over seeds";
    if (!free.empty())
      how = fmt::format("best {} by {} ({}), {}", joined(free, ", "), settings.metric,
                        settings.maximize ? "max" : "min", how);
    std::string script = fmt::format(
        "set title \"{} against {}\\n{}\"\nset xlabel '{}'\nset ylabel '{}'\nset grid\n"
        "set key outside right top\nset offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n",
        gp_dquote(y), gp_dquote(x), gp_dquote(how), gp_quote(x), gp_quote(y));
    if (numeric && lo > 0 && hi / lo >= 8) script += fmt::format("set logscale x {}\n", pow2 ? 2 : 10);
    if (numeric && categories.size() <= 12) {  // tics at the swept values
      std::string tics;
      for (const auto& c : categories) tics += fmt::format("{}{}", tics.empty() ? "" : ", ", std::strtod(c.c_str(), nullptr));
      script += "set xtics (" + tics + ")\n";
    }
    if (numeric && lo == hi) script += fmt::format("set xrange [{}:{}]\n", lo - 1, hi + 1);
    if (!numeric) script += fmt::format("set xrange [-0.5:{}]\n", categories.size() - 0.5);
    script += "plot ";
    for (size_t i = 0; i < series.size(); ++i)
      script += fmt::format("{}'{}' using 1:2:3{} with yerrorlines lw 2 pt 7 title '{}'", i ? ", " : "",
                            (data_dir / files[i].first).string(), numeric ? "" : ":xtic(4)",
                            gp_quote(series[i].label));
    return script + "\n";
  }, out);
  fmt::print("wrote {}\n", out.string());
  return 0;
}

}  // namespace loglin::cli

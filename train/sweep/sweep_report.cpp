// sweep.csv, summary.md and sweep_settings.yaml (see sweep_report.h).
#include "train/sweep/sweep_report.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "core/error.h"

namespace loglin::sweep {
namespace {

const char* kFixedColumns[] = {"seed", "status", "wall_s"};  // after point and the grid keys

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Records of fields; quoted fields may hold commas, quotes ("") and newlines.
std::vector<std::vector<std::string>> csv_records(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> rec;
  std::string field;
  bool quoted = false, any = false;
  int line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c, line += c == '\n';
      continue;
    }
    if (c == '"' && field.empty()) quoted = any = true;
    else if (c == ',') rec.push_back(field), field.clear(), any = true;
    else if (c == '\n') {
      if (any || !field.empty()) rec.push_back(field), out.push_back(rec);
      rec.clear(), field.clear(), any = false, ++line;
    } else if (c != '\r') field += c, any = true;
  }
  LOGLIN_CHECK(!quoted, "[sweep] {}:{}: a quoted field is not closed", source, line);
  if (any || !field.empty()) rec.push_back(field), out.push_back(rec);
  return out;
}

std::string format_metric(double v) { return std::isnan(v) ? "" : fmt::format("{}", v); }

double parse_double_or_nan(const std::string& s) {
  if (s.empty()) return NAN;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() ? v : NAN;
}

// a is better than b under the select mode; NaN is worse than any number.
bool better(double a, double b, bool maximize) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return maximize ? a > b : a < b;
}

std::string number(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.4g}", v); }

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// Markdown cells end at '|'.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// The grid keys not grouped by: those the best is taken over.
std::vector<size_t> free_keys(const SweepSettings& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.grid_keys.size(); ++i)
    if (std::find(s.group_by.begin(), s.group_by.end(), s.grid_keys[i]) == s.group_by.end()) out.push_back(i);
  return out;
}

}  // namespace

double PointResult::metric(const std::string& name) const {
  for (const auto& [k, v] : metrics)
    if (k == name) return v;
  return NAN;
}

std::string sweep_csv(const SweepSettings& settings, const std::vector<PointResult>& rows) {
  std::vector<std::string> metric_names;
  for (const auto& r : rows)
    for (const auto& [k, v] : r.metrics)
      if (std::find(metric_names.begin(), metric_names.end(), k) == metric_names.end()) metric_names.push_back(k);
  std::vector<std::string> header{"point"};
  header.insert(header.end(), settings.grid_keys.begin(), settings.grid_keys.end());
  header.insert(header.end(), std::begin(kFixedColumns), std::end(kFixedColumns));
  header.insert(header.end(), metric_names.begin(), metric_names.end());
  std::string out;
  for (size_t i = 0; i < header.size(); ++i) out += (i ? "," : "") + csv_field(header[i]);
  out += "\n";
  for (const auto& r : rows) {
    LOGLIN_CHECK(r.values.size() == settings.grid_keys.size(), "[sweep] point {} has {} grid values, expected {}",
                 r.name, r.values.size(), settings.grid_keys.size());
    std::string line = csv_field(r.name);
    for (const auto& v : r.values) line.append(",").append(csv_field(v));
    line += fmt::format(",{},{},{}", r.seed, r.status, std::isnan(r.wall_s) ? "" : fmt::format("{:.1f}", r.wall_s));
    for (const auto& m : metric_names) line.append(",").append(format_metric(r.metric(m)));
    out += line + "\n";
  }
  return out;
}

std::vector<PointResult> parse_sweep_csv(const std::string& text, const SweepSettings& settings,
                                         const std::string& source) {
  auto records = csv_records(text, source);
  LOGLIN_CHECK(!records.empty(), "[sweep] {}: empty, expected a header line", source);
  const auto& header = records[0];
  const size_t n_keys = settings.grid_keys.size(), first_metric = 1 + n_keys + std::size(kFixedColumns);
  bool ok = header.size() >= first_metric && header[0] == "point";
  for (size_t i = 0; ok && i < n_keys; ++i) ok = header[1 + i] == settings.grid_keys[i];
  for (size_t i = 0; ok && i < std::size(kFixedColumns); ++i) ok = header[1 + n_keys + i] == kFixedColumns[i];
  LOGLIN_CHECK(ok, "[sweep] {}:1: the header is not point, {}, seed, status, wall_s, <metrics> (grid keys from "
                   "sweep_settings.yaml)", source, joined(settings.grid_keys, ", "));
  std::vector<PointResult> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& f = records[r];
    LOGLIN_CHECK(f.size() == header.size(), "[sweep] {}: row {} has {} fields, the header {}", source, r + 1, f.size(),
                 header.size());
    PointResult p;
    p.name = f[0];
    p.values.assign(f.begin() + 1, f.begin() + 1 + n_keys);
    char* end = nullptr;
    p.seed = std::strtoll(f[1 + n_keys].c_str(), &end, 10);
    LOGLIN_CHECK(!f[1 + n_keys].empty() && *end == '\0', "[sweep] {}: row {}: seed '{}' is not an integer", source,
                 r + 1, f[1 + n_keys]);
    p.status = f[2 + n_keys];
    p.wall_s = parse_double_or_nan(f[3 + n_keys]);
    for (size_t m = first_metric; m < header.size(); ++m)
      if (!f[m].empty()) p.metrics.emplace_back(header[m], parse_double_or_nan(f[m]));
    rows.push_back(std::move(p));
  }
  return rows;
}

std::vector<GroupSummary> summarize(const SweepSettings& settings, const std::vector<PointResult>& rows) {
  std::vector<size_t> group_index;
  for (const auto& g : settings.group_by) {
    auto it = std::find(settings.grid_keys.begin(), settings.grid_keys.end(), g);
    LOGLIN_CHECK(it != settings.grid_keys.end(), "[sweep] group_by key '{}' is not a grid key", g);
    group_index.push_back(static_cast<size_t>(it - settings.grid_keys.begin()));
  }
  const std::vector<size_t> free = free_keys(settings);

  std::vector<GroupSummary> groups;
  std::map<std::vector<std::string>, size_t> group_of;
  std::vector<int64_t> seed_order;
  std::map<std::pair<size_t, int64_t>, const PointResult*> best;  // (group, seed) -> chosen row
  std::vector<std::string> metric_names{settings.metric};
  for (const auto& r : rows) {
    std::vector<std::string> key;
    for (size_t i : group_index) key.push_back(r.values.at(i));
    auto [it, fresh] = group_of.emplace(key, groups.size());
    if (fresh) {
      groups.emplace_back();
      groups.back().group = key;
    }
    GroupSummary& g = groups[it->second];
    ++g.points;
    if (std::find(seed_order.begin(), seed_order.end(), r.seed) == seed_order.end()) seed_order.push_back(r.seed);
    if (r.status != "done") continue;
    ++g.points_done;
    for (const auto& [k, v] : r.metrics)
      if (k != "tokens" && std::find(metric_names.begin(), metric_names.end(), k) == metric_names.end())
        metric_names.push_back(k);
    const PointResult*& b = best[{it->second, r.seed}];
    if (!b || better(r.metric(settings.metric), b->metric(settings.metric), settings.maximize)) b = &r;
  }
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    GroupSummary& g = groups[gi];
    g.metrics = metric_names;
    std::vector<std::vector<double>> per_metric(metric_names.size());
    for (int64_t seed : seed_order) {
      auto it = best.find({gi, seed});
      if (it == best.end()) continue;
      g.seeds.push_back(seed);
      std::vector<std::string> chosen;
      for (size_t i : free) chosen.push_back(it->second->values.at(i));
      g.chosen.push_back(joined(chosen, "/"));
      for (size_t m = 0; m < metric_names.size(); ++m) per_metric[m].push_back(it->second->metric(metric_names[m]));
    }
    for (const auto& v : per_metric) {
      double mean = NAN, sd = NAN;
      if (!v.empty()) {
        mean = 0;
        for (double x : v) mean += x;
        mean /= static_cast<double>(v.size());
        sd = 0;
        for (double x : v) sd += (x - mean) * (x - mean);
        sd = v.size() > 1 ? std::sqrt(sd / static_cast<double>(v.size() - 1)) : 0.0;
      }
      g.mean.push_back(mean);
      g.std.push_back(sd);
    }
  }
  return groups;
}

std::string summary_markdown(const std::string& title, const SweepSettings& settings,
                             const std::vector<PointResult>& rows) {
  const auto groups = summarize(settings, rows);
  int done = 0;
  std::vector<std::string> failed;
  for (const auto& r : rows) {
    done += r.status == "done";
    if (r.status == "failed") failed.push_back(r.name);
  }
  std::vector<std::string> free_names;
  for (size_t i : free_keys(settings)) free_names.push_back(settings.grid_keys[i]);
  const std::string direction = settings.maximize ? "highest" : "lowest";
  std::string out = fmt::format("# Sweep summary: {}\n\n{} of {} points done.", title, done, rows.size());
  out += fmt::format(
      " For each {}seed, the finished point with the {} final `{}`{} was chosen; each cell is the mean ± std "
      "(n - 1) over the seeds of that metric at the chosen points.\n\n",
      settings.group_by.empty() ? "" : "(" + joined(settings.group_by, ", ") + ") and ", direction, settings.metric,
      free_names.empty() ? "" : fmt::format(" over {}", joined(free_names, ", ")));

  std::vector<std::string> head = settings.group_by;
  head.push_back("seeds");
  const std::vector<std::string>& metrics = groups.empty() ? std::vector<std::string>{settings.metric}
                                                           : groups.front().metrics;
  head.insert(head.end(), metrics.begin(), metrics.end());
  if (!free_names.empty()) head.push_back(fmt::format("chosen {} (per seed)", joined(free_names, "/")));
  out += "|";
  for (const auto& h : head) out += " " + cell(h) + " |";
  out += "\n|";
  for (size_t i = 0; i < head.size(); ++i)  // words left, numbers right
    out += i < settings.group_by.size() || (!free_names.empty() && i + 1 == head.size()) ? "---|" : "---:|";
  out += "\n";
  for (const auto& g : groups) {
    out += "|";
    for (const auto& v : g.group) out += " " + cell(v) + " |";
    std::string seeds = std::to_string(g.seed_count());
    if (g.points_done < g.points) seeds += fmt::format(" ({}/{} points done)", g.points_done, g.points);
    out += " " + seeds + " |";
    for (size_t m = 0; m < g.metrics.size(); ++m) {
      if (g.seeds.empty()) out += " - |";
      else if (g.seed_count() == 1) out += " " + number(g.mean[m]) + " |";
      else out += fmt::format(" {} ± {} |", number(g.mean[m]), number(g.std[m]));
    }
    if (!free_names.empty()) out += " " + cell(joined(g.chosen, ", ")) + " |";
    out += "\n";
  }
  if (!failed.empty()) {
    out += fmt::format("\nFailed ({}; see train.log in each point's directory):\n\n", failed.size());
    for (const auto& f : failed) out += fmt::format("- `{}`\n", f);
  }
  return out;
}

std::string settings_yaml(const SweepSettings& s) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "grid" << YAML::Value << YAML::Flow << s.grid_keys;
  e << YAML::Key << "group_by" << YAML::Value << YAML::Flow << s.group_by;
  e << YAML::Key << "tune" << YAML::Value << s.tune;
  e << YAML::Key << "select" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "metric" << YAML::Value
    << s.metric << YAML::Key << "mode" << YAML::Value << (s.maximize ? "max" : "min") << YAML::EndMap;
  e << YAML::EndMap;
  return std::string("# written by `loglin sweep`: how summary.md and `loglin plot` group and choose\n") + e.c_str() +
         "\n";
}

SweepSettings parse_settings(const std::string& text, const std::string& source) {
  try {
    const YAML::Node root = YAML::Load(text);
    LOGLIN_CHECK(root.IsMap(), "[sweep] {}: expected a map (grid, group_by, tune, select)", source);
    SweepSettings s;
    s.grid_keys = root["grid"].as<std::vector<std::string>>();
    s.group_by = root["group_by"].as<std::vector<std::string>>();
    s.tune = root["tune"].as<std::string>();
    s.metric = root["select"]["metric"].as<std::string>();
    const std::string mode = root["select"]["mode"].as<std::string>();
    LOGLIN_CHECK(mode == "min" || mode == "max", "[sweep] {}: select.mode is '{}', expected min or max", source, mode);
    s.maximize = mode == "max";
    return s;
  } catch (const YAML::Exception& e) {
    LOGLIN_FAIL("[sweep] {}{}: {} (written by `loglin sweep`; rerun the sweep to write it again)", source,
                e.mark.is_null() ? "" : fmt::format(":{}", e.mark.line + 1), e.msg);
  }
}

}  // namespace loglin::sweep

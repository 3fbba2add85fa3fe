// A sweep's points: expansion, names, validated configs, and each point's
// standing in its run directory (see sweep_plan.h).
#include "train/sweep/sweep_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include "core/error.h"
#include "train/checkpoint/checkpoint.h"
#include "train/checkpoint/file_io.h"
#include "train/checkpoint/json.h"

namespace loglin::sweep {
namespace fs = std::filesystem;
namespace {

constexpr size_t kMaxName = 120;
const char* kRecordFile = "sweep_point.json";

bool safe_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("._,=+-").find(c) != std::string_view::npos;
}

// The config error of a point, rewritten to name the sweep file's line of
// the grid value it blames ("--set model.arch=mambo: ..." -> "sweep.yaml:7: ...").
[[noreturn]] void fail_point(const SweepSpec& spec, const Point& p, const std::string& msg) {
  for (size_t a = 0; a < spec.grid.size(); ++a) {
    const SweepAxis& axis = spec.grid[a];
    const std::string set = fmt::format("--set {}={}", axis.key, p.values[a]);
    if (msg.find(set + ":") == std::string::npos) continue;
    const std::string prefix = "[config] " + set + ": ";
    const std::string detail = msg.rfind(prefix, 0) == 0 ? msg.substr(prefix.size()) : msg;
    LOGLIN_FAIL("[sweep] {}: {}={} (in point {}): {}", axis.value_where[p.value_index[a]], axis.key, p.values[a],
                p.name, detail);
  }
  // The same for a key set by linked: (the line of the linked value).
  for (size_t a = 0; a < spec.grid.size(); ++a) {
    const SweepAxis& axis = spec.grid[a];
    if (axis.linked.empty()) continue;
    for (const LinkedSet& l : axis.linked[p.value_index[a]]) {
      const std::string set = fmt::format("--set {}={}", l.key, l.value);
      if (msg.find(set + ":") == std::string::npos) continue;
      const std::string prefix = "[config] " + set + ": ";
      const std::string detail = msg.rfind(prefix, 0) == 0 ? msg.substr(prefix.size()) : msg;
      LOGLIN_FAIL("[sweep] {}: {}={} (linked to {}={}, in point {}): {}", l.where, l.key, l.value, axis.key,
                  p.values[a], p.name, detail);
    }
  }
  // A cross-key check names where the key it blames was given, which may be
  // the base: point at the grid value whose key the message names.
  for (size_t a = 0; a < spec.grid.size(); ++a) {
    const SweepAxis& axis = spec.grid[a];
    if (msg.find(axis.key) == std::string::npos) continue;
    LOGLIN_FAIL("[sweep] {}: {}={} (in point {}): {}", axis.value_where[p.value_index[a]], axis.key, p.values[a],
                p.name, msg);
  }
  LOGLIN_FAIL("[sweep] {}: point {}: {}", spec.path, p.name, msg);
}

// The first line where two YAML texts differ, without its comment.
std::pair<std::string, std::string> first_difference(const std::string& a, const std::string& b) {
  std::istringstream ia(a), ib(b);
  std::string la, lb;
  auto strip = [](std::string s) {
    s = s.substr(0, s.find(" #"));
    const size_t e = s.find_last_not_of(' '), f = s.find_first_not_of(' ');
    return f == std::string::npos ? std::string() : s.substr(f, e - f + 1);
  };
  while (true) {
    const bool ga = static_cast<bool>(std::getline(ia, la)), gb = static_cast<bool>(std::getline(ib, lb));
    if (!ga && !gb) return {"", ""};
    if (!ga) la.clear();
    if (!gb) lb.clear();
    if (strip(la) != strip(lb)) return {strip(la), strip(lb)};
  }
}

// The eval row of `step` in metrics.jsonl (the last one, should a resumed
// run have written it twice), its fields in the order they were written.
// Lines that do not parse (a torn last line) are passed over.
std::optional<std::vector<std::pair<std::string, double>>> eval_at(const fs::path& metrics, int64_t step) {
  std::error_code ec;
  if (!fs::exists(metrics, ec)) return std::nullopt;
  std::istringstream in(io::read_file(metrics));
  std::optional<std::vector<std::pair<std::string, double>>> found;
  for (std::string line; std::getline(in, line);) {
    if (line.find("\"eval\"") == std::string::npos) continue;  // most lines are training steps
    json::Value v;
    try {
      v = json::Value::parse(line, metrics.string());
    } catch (const Error&) {
      continue;
    }
    if (!v.is_object() || !v.contains("kind") || !v.at("kind").is_string() || v.at("kind").as_string() != "eval" ||
        !v.contains("step") || !v.at("step").is_integer() || v.at("step").as_int() != step)
      continue;
    std::vector<std::pair<size_t, std::pair<std::string, double>>> fields;
    for (const auto& [k, x] : v.as_object()) {
      if (k == "kind" || k == "step" || !(x.is_number() || x.is_null())) continue;
      // The trainer's "does not apply" values (train/trainer/trainer.h, EvalResult):
      // accuracy -1 on text, bits per byte 0 on MQAR.
      if ((k == "val_accuracy" && x.is_number() && x.as_double() < 0) ||
          (k == "val_bpb" && x.is_number() && x.as_double() == 0))
        continue;
      fields.push_back({line.find("\"" + k + "\":"), {k, x.is_null() ? NAN : x.as_double()}});
    }
    std::sort(fields.begin(), fields.end());
    found.emplace();
    for (auto& f : fields) found->push_back(std::move(f.second));
  }
  return found;
}

}  // namespace

std::string point_name(const std::vector<std::string>& keys, const std::vector<std::string>& values, int64_t seed) {
  std::string raw;
  for (size_t i = 0; i < keys.size(); ++i) raw += keys[i] + "=" + values.at(i) + ",";
  raw += fmt::format("seed={}", seed);
  std::string name;
  for (char c : raw) name += safe_char(c) ? c : '_';
  if (name.size() > kMaxName) name = name.substr(0, kMaxName - 9) + "~" + io::hex64(io::fnv1a64(raw)).substr(0, 8);
  return name;
}

std::vector<Point> expand_grid(const SweepSpec& spec) {
  std::vector<Point> out;
  for (int64_t seed : spec.seeds) {
    std::vector<size_t> at(spec.grid.size(), 0);
    while (true) {
      Point p;
      p.value_index = at;
      for (size_t a = 0; a < spec.grid.size(); ++a) p.values.push_back(spec.grid[a].values[at[a]]);
      p.seed = seed;
      p.name = point_name(spec.settings.grid_keys, p.values, seed);
      p.dir = spec.sweep_dir / p.name;
      out.push_back(std::move(p));
      // The odometer: the last axis turns fastest.
      size_t a = spec.grid.size();
      while (a > 0 && ++at[a - 1] == spec.grid[a - 1].values.size()) at[--a] = 0;
      if (a == 0) break;
    }
  }
  return out;
}

std::vector<Point> resolve_points(const SweepSpec& spec) {
  std::vector<Point> points = expand_grid(spec);
  std::map<std::string, std::string> by_config;  // to_yaml without run_dir -> the first point with it
  std::set<std::string> names;
  for (Point& p : points) {
    std::vector<std::string> sets;
    for (size_t a = 0; a < spec.grid.size(); ++a) sets.push_back(spec.grid[a].key + "=" + p.values[a]);
    for (size_t a = 0; a < spec.grid.size(); ++a)
      if (!spec.grid[a].linked.empty())
        for (const LinkedSet& l : spec.grid[a].linked[p.value_index[a]]) sets.push_back(l.key + "=" + l.value);
    sets.push_back(fmt::format("training.seed={}", p.seed));
    sets.push_back("logging.run_dir=" + p.dir.string());
    sets.push_back("checkpoint.resume=true");
    try {
      p.config = parse_config(spec.base_text, spec.base_source, sets);
    } catch (const Error& e) {
      fail_point(spec, p, e.what());
    }
  }
  for (const Point& p : points) {
    LOGLIN_CHECK(names.insert(p.name).second, "[sweep] {}: two points get the run directory name '{}'; make the grid values differ in "
                             "letters, digits or ._,=+-", spec.path, p.name);
    TrainConfig c = p.config;  // the same config in two directories?
    c.logging.run_dir.clear();
    auto [same, fresh] = by_config.emplace(to_yaml(c), p.name);
    LOGLIN_CHECK(fresh, "[sweep] {}: points {} and {} give the same config (a value listed twice in another spelling, "
                        "such as 1e-3 and 0.001?)", spec.path, same->second, p.name);
  }
  return points;
}

int64_t total_steps(const TrainConfig& c) {
  // As Trainer::run counts them.
  if (c.training.steps > 0) return c.training.steps;
  const int64_t T = c.data.dataset == "mqar" ? c.data.mqar.seq_len : c.data.seq_len;
  const int64_t per_step = int64_t(c.data.batch_size) * T * c.training.grad_accum;
  return (c.training.max_tokens + per_step - 1) / per_step;
}

std::string PointStatus::words() const {
  switch (state) {
    case PointState::done: return "done";
    case PointState::partial:
      return checkpoint_step > 0 ? fmt::format("resume from step {} of {}", checkpoint_step, total_steps)
                                 : std::string("no checkpoint yet, starts over");
    case PointState::pending: break;
  }
  return "pending";
}

PointStatus point_status(const Point& point) {
  PointStatus s;
  s.total_steps = total_steps(point.config);
  std::error_code ec;
  if (!fs::exists(point.dir, ec)) return s;

  // A run directory of another config must not be resumed or counted.
  const fs::path cfg_file = point.dir / "config.yaml";
  if (fs::exists(cfg_file, ec)) {
    TrainConfig old;
    try {
      old = load_config(cfg_file.string());
    } catch (const Error& e) {
      LOGLIN_FAIL("[sweep] point {}: its run directory's config no longer loads ({}); remove {} to train it again",
                  point.name, e.what(), point.dir.string());
    }
    old.logging.run_dir = point.config.logging.run_dir;  // the same directory, however it is spelt
    if (!(old == point.config)) {
      auto [was, now] = first_difference(to_yaml(old), to_yaml(point.config));
      LOGLIN_FAIL("[sweep] point {}: {} holds a run of another config ('{}' there, '{}' now): the sweep file or its "
                  "base changed; remove that directory to train the point again, or restore the config",
                  point.name, point.dir.string(), was, now);
    }
  }

  const fs::path record = point.dir / kRecordFile;
  if (fs::exists(record, ec)) {
    try {
      const json::Value v = json::Value::parse(io::read_file(record), record.string());
      if (v.contains("wall_s") && v.at("wall_s").is_number()) s.wall_s = v.at("wall_s").as_double();
      const std::string outcome = v.contains("outcome") && v.at("outcome").is_string() ? v.at("outcome").as_string() : "";
      s.failed_before = !outcome.empty() && outcome != "done" && outcome != "interrupted";
    } catch (const Error&) {
      // A record that does not parse only loses the wall time.
    }
  }
  if (auto eval = eval_at(point.dir / "metrics.jsonl", s.total_steps)) {
    s.state = PointState::done;
    s.final_metrics = std::move(*eval);
    return s;
  }
  if (auto latest = latest_checkpoint(point.dir / "checkpoints")) {
    const std::string n = latest->filename().string();  // step_000123
    s.checkpoint_step = std::strtoll(n.c_str() + n.find('_') + 1, nullptr, 10);
  }
  s.state = s.checkpoint_step > 0 || fs::exists(point.dir / "metrics.jsonl", ec) ? PointState::partial
                                                                                 : PointState::pending;
  return s;
}

void write_point_record(const Point& point, double wall_s, const std::string& outcome) {
  json::Value::Object o;
  o["wall_s"] = json::Value(wall_s);
  o["outcome"] = json::Value(outcome);
  io::write_file_atomic(point.dir / kRecordFile, json::Value(o).dump() + "\n");
}

}  // namespace loglin::sweep

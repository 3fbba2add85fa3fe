// Reading SWEEP.yaml (see sweep_file.h): strict keys, every error with its line.
#include "train/sweep/sweep_file.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/config/config.h"
#include "train/config/suggest.h"

namespace loglin::sweep {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string> kTopKeys = {"base",     "grid",   "seeds", "sweep_dir",
                                           "group_by", "select", "tune",  "linked"};

// Keys the sweep sets for every point itself.
std::string reserved_key_reason(const std::string& key) {
  if (key == "training.seed") return "list the seeds under seeds: instead";
  if (key == "logging.run_dir") return "the sweep gives each point its own run directory under sweep_dir";
  if (key == "checkpoint.resume") return "the sweep resumes interrupted points itself";
  return "";
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const char* node_kind(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "a scalar";
}

struct Reader {
  const std::string& path;

  std::string at(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    return m.is_null() ? path : fmt::format("{}:{}", path, m.line + 1);
  }

  // A plain key or value name: a non-empty scalar.
  std::string scalar(const YAML::Node& n, const std::string& what) const {
    LOGLIN_CHECK(n.IsScalar() && !n.Scalar().empty(), "[sweep] {}: {} must be a plain value, got {}", at(n), what,
                 node_kind(n));
    return n.Scalar();
  }

  // A config key path, with a suggestion when it is not one.
  std::string config_key(const YAML::Node& n, const std::string& what) const {
    const std::string key = scalar(n, what);
    const std::vector<std::string> keys = config_key_paths();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      const std::string near = closest_match(key, keys);
      LOGLIN_FAIL("[sweep] {}: {} '{}' is not a config key{} (`loglin config keys` lists them)", at(n), what, key,
                  near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near));
    }
    return key;
  }

  std::vector<YAML::Node> list(const YAML::Node& n, const std::string& what, bool non_empty) const {
    LOGLIN_CHECK(n.IsSequence(), "[sweep] {}: {} must be a list, e.g. [a, b], got {}", at(n), what, node_kind(n));
    LOGLIN_CHECK(!non_empty || n.size() > 0, "[sweep] {}: {} is an empty list; give at least one value", at(n), what);
    std::vector<YAML::Node> out;
    for (const auto& e : n) out.push_back(e);
    return out;
  }
};

// The base config's text when it is written inline under `base:`. The lines
// of the sweep file that hold it are kept where they are (everything else
// blanked), so config errors name the sweep file's own lines. A flow map
// that shares its line with another top-level key falls back to yaml-cpp's
// re-emitted text, whose lines do not match the file (then `exact` is false).
std::string inline_base_text(const std::string& text, const YAML::Node& root, const YAML::Node& base, bool& exact) {
  const YAML::Mark start = base.Mark();
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  exact = false;
  if (start.is_null() || static_cast<size_t>(start.line) >= lines.size()) return YAML::Dump(base);
  size_t end = lines.size();
  for (const auto& kv : root) {
    const YAML::Mark m = kv.first.Mark();
    if (kv.first.Scalar() == "base") continue;
    if (m.line == start.line) return YAML::Dump(base);
    if (m.line > start.line) end = std::min(end, static_cast<size_t>(m.line));
  }
  exact = true;
  std::string out;
  const size_t first = static_cast<size_t>(start.line), column = static_cast<size_t>(start.column);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == first) out += std::string(column, ' ') + lines[i].substr(std::min(column, lines[i].size()));
    else if (i > first && i < end) out += lines[i];
    out += "\n";
  }
  return out;
}

// linked: grid key -> {its value -> {config key: value}}, checked against the
// grid (every value has an entry, no other) and stored on the grid's axes.
void read_linked(const Reader& r, const YAML::Node& linked, std::vector<SweepAxis>& grid) {
  LOGLIN_CHECK(linked.IsMap() && linked.size() > 0,
               "[sweep] {}: linked must be a non-empty map of grid key -> {{its value: {{config key: value}}}}, got {}",
               r.at(linked), linked.IsMap() ? "an empty map" : node_kind(linked));
  std::vector<std::string> grid_keys;
  for (const auto& a : grid) grid_keys.push_back(a.key);
  std::map<std::string, std::string> set_by;  // linked config key -> "linked <grid key> (line)"
  for (const auto& kv : linked) {
    const YAML::Node k = kv.first, v = kv.second;
    const std::string from = r.scalar(k, "a linked key");
    auto axis = std::find_if(grid.begin(), grid.end(), [&](const SweepAxis& a) { return a.key == from; });
    LOGLIN_CHECK(axis != grid.end(), "[sweep] {}: linked key '{}' is not a grid key (the grid keys are: {})", r.at(k),
                 from, joined(grid_keys));
    LOGLIN_CHECK(axis->linked.empty(), "[sweep] {}: linked lists '{}' twice", r.at(k), from);
    LOGLIN_CHECK(v.IsMap() && v.size() > 0,
                 "[sweep] {}: linked '{}' must map each of its grid values ({}) to {{config key: value}}, got {}",
                 r.at(v), from, joined(axis->values), v.IsMap() ? "an empty map" : node_kind(v));
    std::vector<std::vector<LinkedSet>> sets(axis->values.size());
    std::vector<bool> seen(axis->values.size(), false);
    for (const auto& entry : v) {
      const YAML::Node ek = entry.first, ev = entry.second;
      const std::string value = r.scalar(ek, fmt::format("a value of linked '{}'", from));
      const auto at = std::find(axis->values.begin(), axis->values.end(), value);
      LOGLIN_CHECK(at != axis->values.end(), "[sweep] {}: linked '{}' has an entry for '{}', which is not one of its "
                                             "grid values ({}; write them as the grid does)",
                   r.at(ek), from, value, joined(axis->values));
      const size_t i = static_cast<size_t>(at - axis->values.begin());
      LOGLIN_CHECK(!seen[i], "[sweep] {}: linked '{}' lists the value '{}' twice", r.at(ek), from, value);
      seen[i] = true;
      LOGLIN_CHECK(ev.IsMap(), "[sweep] {}: linked '{}' value '{}' must be a map of config key -> value, got {}",
                   r.at(ev), from, value, node_kind(ev));
      for (const auto& set : ev) {
        const std::string key = r.config_key(set.first, fmt::format("linked '{}' value '{}' sets", from, value));
        const std::string reason = reserved_key_reason(key);
        LOGLIN_CHECK(reason.empty(), "[sweep] {}: linked key '{}' is set by the sweep: {}", r.at(set.first), key,
                     reason);
        LOGLIN_CHECK(std::find(grid_keys.begin(), grid_keys.end(), key) == grid_keys.end(),
                     "[sweep] {}: linked '{}' sets '{}', which is a grid key; a key is either in the grid or linked",
                     r.at(set.first), from, key);
        const std::string owner = fmt::format("linked '{}' ({})", from, r.at(k));
        auto [first, fresh] = set_by.emplace(key, owner);
        LOGLIN_CHECK(fresh || first->second == owner, "[sweep] {}: '{}' is set by linked '{}' and by {}; let one grid "
                                                      "key decide it",
                     r.at(set.first), key, from, first->second);
        for (const auto& done : sets[i])
          LOGLIN_CHECK(done.key != key, "[sweep] {}: linked '{}' value '{}' sets '{}' twice", r.at(set.first), from,
                       value, key);
        LOGLIN_CHECK(set.second.IsScalar(), "[sweep] {}: linked '{}' value '{}': '{}' must be a plain value, got {}",
                     r.at(set.second), from, value, key, node_kind(set.second));
        sets[i].push_back({key, set.second.Scalar(), r.at(set.second)});
      }
    }
    for (size_t i = 0; i < seen.size(); ++i)
      LOGLIN_CHECK(seen[i], "[sweep] {}: linked '{}' has no entry for its grid value '{}' (given at {})", r.at(v), from,
                   axis->values[i], axis->value_where[i]);
    axis->linked = std::move(sets);
  }
}

}  // namespace

SweepSpec parse_sweep(const std::string& text, const std::string& path) {
  Reader r{path};
  YAML::Node root;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    LOGLIN_CHECK(docs.size() <= 1, "[sweep] {}: holds {} YAML documents (separated by ---); a sweep is one", path,
                 docs.size());
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::Exception& e) {
    LOGLIN_FAIL("[sweep] {}{}: invalid YAML: {}", path, e.mark.is_null() ? "" : fmt::format(":{}", e.mark.line + 1),
                e.msg);
  }
  LOGLIN_CHECK(root.IsMap(), "[sweep] {}: a sweep file is a map with base: and grid: (and optionally {}), got {}",
               r.at(root), "seeds, sweep_dir, group_by, select, tune, linked", node_kind(root));

  SweepSpec spec;
  spec.path = path;
  const fs::path here = fs::path(path).parent_path();
  std::map<std::string, YAML::Node> given;  // top-level key -> its value
  std::map<std::string, std::string> key_where;
  try {
    for (const auto& kv : root) {
      const YAML::Node k = kv.first, v = kv.second;
      const std::string name = r.scalar(k, "a top-level key");
      if (std::find(kTopKeys.begin(), kTopKeys.end(), name) == kTopKeys.end()) {
        const std::string near = closest_match(name, kTopKeys);
        LOGLIN_FAIL("[sweep] {}: unknown key '{}' ({}the keys are: base, grid, seeds, sweep_dir, group_by, select, "
                    "tune, linked)", r.at(k), name, near.empty() ? "" : fmt::format("did you mean '{}'? ", near));
      }
      auto [first, fresh] = key_where.emplace(name, r.at(k));
      LOGLIN_CHECK(fresh, "[sweep] {}: duplicate key '{}' (first given at {})", r.at(k), name, first->second);
      given[name] = v;
    }
    LOGLIN_CHECK(given.count("base"), "[sweep] {}: missing key 'base' (a config file, or a config mapping)", path);
    LOGLIN_CHECK(given.count("grid"), "[sweep] {}: missing key 'grid' (config key -> list of values)", path);

    // base: a file or an inline mapping.
    const YAML::Node base = given["base"];
    if (base.IsMap()) {
      bool exact = false;
      spec.base_text = inline_base_text(text, root, base, exact);
      spec.base_source = exact ? path : path + " (base, re-emitted)";
    } else {
      LOGLIN_CHECK(base.IsScalar() && !base.Scalar().empty(),
                   "[sweep] {}: base must be a config file path or a config mapping, got {}", r.at(base),
                   node_kind(base));
      const fs::path file = (here / base.Scalar()).lexically_normal();
      std::error_code ec;
      LOGLIN_CHECK(fs::is_regular_file(file, ec), "[sweep] {}: base config '{}' is not a file", r.at(base),
                   file.string());
      spec.base_text = io::read_file(file);
      spec.base_source = file.string();
    }

    // grid: config key -> non-empty list of distinct scalars.
    const YAML::Node grid = given["grid"];
    LOGLIN_CHECK(grid.IsMap() && grid.size() > 0,
                 "[sweep] {}: grid must be a non-empty map of config key -> list of values, got {}", r.at(grid),
                 grid.IsMap() ? "an empty map" : node_kind(grid));
    std::map<std::string, std::string> grid_where;
    for (const auto& kv : grid) {
      const YAML::Node k = kv.first, v = kv.second;
      SweepAxis axis;
      axis.key = r.config_key(k, "grid key");
      axis.where = r.at(k);
      const std::string reason = reserved_key_reason(axis.key);
      LOGLIN_CHECK(reason.empty(), "[sweep] {}: grid key '{}' is set by the sweep: {}", axis.where, axis.key, reason);
      auto [first, fresh] = grid_where.emplace(axis.key, axis.where);
      LOGLIN_CHECK(fresh, "[sweep] {}: duplicate grid key '{}' (first given at {})", axis.where, axis.key,
                   first->second);
      for (const auto& e : r.list(v, fmt::format("grid key '{}'", axis.key), true)) {
        LOGLIN_CHECK(e.IsScalar(), "[sweep] {}: the values of '{}' must be plain values, got {}", r.at(e), axis.key,
                     node_kind(e));
        const std::string value = e.Scalar();
        LOGLIN_CHECK(std::find(axis.values.begin(), axis.values.end(), value) == axis.values.end(),
                     "[sweep] {}: '{}' lists the value '{}' twice", r.at(e), axis.key, value);
        axis.values.push_back(value);
        axis.value_where.push_back(r.at(e));
      }
      spec.settings.grid_keys.push_back(axis.key);
      spec.grid.push_back(std::move(axis));
    }

    if (given.count("linked")) read_linked(r, given["linked"], spec.grid);

    if (given.count("seeds")) {
      spec.seeds.clear();
      for (const auto& e : r.list(given["seeds"], "seeds", true)) {
        int64_t seed = -1;
        const std::string s = e.IsScalar() ? e.Scalar() : "";
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), seed);
        LOGLIN_CHECK(e.IsScalar() && ec == std::errc() && p == s.data() + s.size() && seed >= 0,
                     "[sweep] {}: seeds must be integers >= 0, got {}", r.at(e),
                     e.IsScalar() ? fmt::format("'{}'", s) : node_kind(e));
        LOGLIN_CHECK(std::find(spec.seeds.begin(), spec.seeds.end(), seed) == spec.seeds.end(),
                     "[sweep] {}: seed {} is listed twice", r.at(e), seed);
        spec.seeds.push_back(seed);
      }
    }

    if (given.count("sweep_dir")) {
      spec.sweep_dir = (here / r.scalar(given["sweep_dir"], "sweep_dir")).lexically_normal();
    } else {
      spec.sweep_dir = here / fs::path(path).stem();
    }

    if (given.count("tune")) spec.settings.tune = r.config_key(given["tune"], "tune");

    if (given.count("group_by")) {
      for (const auto& e : r.list(given["group_by"], "group_by", false)) {
        const std::string key = r.scalar(e, "a group_by key");
        const auto& keys = spec.settings.grid_keys;
        LOGLIN_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(),
                     "[sweep] {}: group_by key '{}' is not a grid key (the grid keys are: {})", r.at(e), key,
                     joined(keys));
        auto& g = spec.settings.group_by;
        LOGLIN_CHECK(std::find(g.begin(), g.end(), key) == g.end(), "[sweep] {}: group_by lists '{}' twice",
                     r.at(e), key);
        g.push_back(key);
      }
    } else {
      for (const auto& k : spec.settings.grid_keys)
        if (k != spec.settings.tune) spec.settings.group_by.push_back(k);
    }

    if (given.count("select")) {
      const YAML::Node sel = given["select"];
      LOGLIN_CHECK(sel.IsMap(), "[sweep] {}: select must be a map like {{metric: val_loss, mode: min}}, got {}",
                   r.at(sel), node_kind(sel));
      std::set<std::string> seen;
      for (const auto& kv : sel) {
        const YAML::Node k = kv.first, v = kv.second;
        const std::string name = r.scalar(k, "a select key");
        LOGLIN_CHECK(seen.insert(name).second, "[sweep] {}: duplicate key 'select.{}'", r.at(k), name);
        if (name == "metric") {
          spec.settings.metric = r.scalar(v, "select.metric");
        } else if (name == "mode") {
          const std::string mode = r.scalar(v, "select.mode");
          LOGLIN_CHECK(mode == "min" || mode == "max", "[sweep] {}: select.mode must be min or max, got '{}'", r.at(v),
                       mode);
          spec.settings.maximize = mode == "max";
        } else {
          LOGLIN_FAIL("[sweep] {}: unknown key 'select.{}' (select takes metric and mode)", r.at(k), name);
        }
      }
      LOGLIN_CHECK(seen.count("metric"), "[sweep] {}: select needs a metric (val_loss, val_accuracy, ...)", r.at(sel));
      if (!seen.count("mode"))  // accuracy goes up, losses go down
        spec.settings.maximize = spec.settings.metric.find("accuracy") != std::string::npos;
    }
  } catch (const YAML::Exception& e) {  // yaml-cpp's own checks while walking
    LOGLIN_FAIL("[sweep] {}{}: {}", path, e.mark.is_null() ? "" : fmt::format(":{}", e.mark.line + 1), e.msg);
  }
  return spec;
}

SweepSpec load_sweep(const std::string& path) {
  std::error_code ec;
  LOGLIN_CHECK(fs::is_regular_file(path, ec), "[sweep] cannot read sweep file '{}': {}", path,
               fs::exists(path, ec) ? "not a regular file" : "no such file");
  return parse_sweep(io::read_file(path), path);
}

}  // namespace loglin::sweep

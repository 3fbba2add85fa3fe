// YAML text + --set overrides -> a validated TrainConfig. The only file in
// train/config that sees yaml-cpp (linked PRIVATE, so config.h stays free of it).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "core/error.h"
#include "train/config/config_schema.h"
#include "train/config/suggest.h"

namespace loglin {
namespace config_detail {
namespace {

bool is_section(const std::string& path) {
  const auto& s = section_paths();
  return std::find(s.begin(), s.end(), path) != s.end();
}

const char* node_kind(const YAML::Node& n) {
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  if (n.IsNull()) return "nothing";
  return "a scalar";
}

// "an integer (>= 1)", "one of byte | bpe": what a key accepts, for errors.
std::string expectation(const KeySpec& key) {
  const std::string type = type_name(key), allowed = allowed_text(key);
  if (type == "choice") return "one of " + allowed;
  std::string out = type == "integer" ? "an integer" : "a " + type;
  return allowed.empty() ? out : fmt::format("{} ({})", out, allowed);
}

// Reads a list key (data.mqar.train_mix, data.mqar.test_configs) from its
// YAML node: a non-empty list of {seq_len, num_pairs, examples} maps, each
// key given once and checked like a key of its own
// ('data.mqar.train_mix[1].num_pairs'). where names the key, at() a node's
// line; origins, when given, records where each entry was
// ("data.mqar.train_mix[1]" -> "x.yaml:14") for the cross-key checks.
void read_task_list(const KeySpec& key, TrainConfig& config, const YAML::Node& v, const std::string& where,
                    const std::function<std::string(const YAML::Mark&)>& at, Origins* origins) {
  TaskList& field = *std::get<TaskList*>(key.field(config));
  if (v.IsNull()) {  // "train_mix:" with nothing after it: the default (no list)
    field.clear();
    return;
  }
  LOGLIN_CHECK(v.IsSequence(), "[config] {}: '{}' expects a list of {{seq_len, num_pairs, examples}} entries, got {}",
               where, key.path, node_kind(v));
  LOGLIN_CHECK(v.size() > 0,
               "[config] {}: '{}' is an empty list; give at least one entry such as {{seq_len: 64, num_pairs: 4, "
               "examples: 1000}}, or leave the key out for the default",
               where, key.path);
  std::vector<std::string> names;
  for (const auto& f : kTaskFields) names.push_back(f.name);
  TaskList out;
  for (size_t i = 0; i < v.size(); ++i) {
    const YAML::Node e = v[i];
    const std::string entry = fmt::format("{}[{}]", key.path, i);
    const std::string here = at(e.Mark());
    LOGLIN_CHECK(e.IsMap(),
                 "[config] {}: '{}' expects a map such as {{seq_len: 64, num_pairs: 4, examples: 1000}}, got {}", here,
                 entry, node_kind(e));
    MqarTaskConfig t;
    std::set<std::string> got;
    for (const auto& kv : e) {
      const YAML::Node k = kv.first;
      const YAML::Node val = kv.second;
      const std::string kwhere = at(k.Mark());
      LOGLIN_CHECK(k.IsScalar(), "[config] {}: keys must be plain names (in '{}')", kwhere, entry);
      const std::string name = entry + "." + k.Scalar();
      const TaskField* f = nullptr;
      for (const auto& c : kTaskFields)
        if (k.Scalar() == c.name) f = &c;
      if (!f) {
        const std::string near = closest_match(k.Scalar(), names);
        LOGLIN_FAIL("[config] {}: unknown key '{}' ({})", kwhere, name,
                    near.empty() ? "an entry takes seq_len, num_pairs and examples"
                                 : fmt::format("did you mean '{}.{}'?", entry, near));
      }
      LOGLIN_CHECK(got.insert(f->name).second, "[config] {}: duplicate key '{}'", kwhere, name);
      int value = 0;
      KeySpec spec(name, [&value](TrainConfig&) -> FieldRef { return &value; }, "");
      spec.min(f->min);
      LOGLIN_CHECK(!val.IsNull(), "[config] {}: '{}' has no value (expects {})", kwhere, name, expectation(spec));
      LOGLIN_CHECK(val.IsScalar(), "[config] {}: '{}' expects {}, got {}", kwhere, name, expectation(spec),
                   node_kind(val));
      assign_value(spec, config, val.Scalar(), val.Tag() == "!", kwhere);
      t.*(f->member) = value;
    }
    for (const auto& f : kTaskFields)
      LOGLIN_CHECK(got.count(f.name), "[config] {}: '{}' lacks '{}' (an entry needs seq_len, num_pairs and examples)",
                   here, entry, f.name);
    if (origins) (*origins)[entry] = here;
    out.push_back(t);
  }
  field = std::move(out);
}

struct Loader {
  const std::string& source;
  TrainConfig& config;
  Origins& origins;
  std::map<std::string, std::string> seen;  // path -> where, for duplicates

  std::string at(const YAML::Mark& m) const { return m.is_null() ? source : fmt::format("{}:{}", source, m.line + 1); }

  void assign(const KeySpec& key, const YAML::Node& v, const std::string& where) {
    if (is_list(key)) {
      read_task_list(key, config, v, where, [this](const YAML::Mark& m) { return at(m); }, &origins);
      return;
    }
    if (v.IsNull()) {
      // "sample_prompt:" with nothing after it reads as the empty string;
      // for any other type an empty value is a mistake, not a default.
      LOGLIN_CHECK(type_name(key) == "string", "[config] {}: '{}' has no value (expects {})", where, key.path,
                   expectation(key));
      assign_value(key, config, "", false, where);
      return;
    }
    LOGLIN_CHECK(v.IsScalar(), "[config] {}: '{}' expects {}, got {}", where, key.path, expectation(key), node_kind(v));
    assign_value(key, config, v.Scalar(), v.Tag() == "!", where);
  }

  void walk(const YAML::Node& map, const std::string& prefix) {
    for (const auto& kv : map) {
      // Copies: a yaml-cpp iterator hands out a proxy whose members die with it.
      const YAML::Node k = kv.first;
      const YAML::Node v = kv.second;
      const std::string where = at(k.Mark());
      LOGLIN_CHECK(k.IsScalar(), "[config] {}: keys must be plain names{}", where,
                   prefix.empty() ? "" : fmt::format(" (in '{}')", prefix));
      const std::string path = prefix.empty() ? k.Scalar() : prefix + "." + k.Scalar();
      auto [first, fresh] = seen.emplace(path, where);
      LOGLIN_CHECK(fresh, "[config] {}: duplicate key '{}' (first given at {})", where, path, first->second);
      if (const KeySpec* key = find_key(path)) {
        assign(*key, v, where);
        origins[path] = where;
      } else if (is_section(path)) {
        if (v.IsNull()) continue;  // an empty section keeps its defaults
        LOGLIN_CHECK(v.IsMap(), "[config] {}: '{}' is a section and needs keys under it, got {}", where, path,
                     node_kind(v));
        walk(v, path);
      } else {
        LOGLIN_FAIL("[config] {}: {}", where, unknown_key_message(path));
      }
    }
  }
};

void apply_override(const std::string& spec, TrainConfig& config, Origins& origins) {
  const size_t eq = spec.find('=');
  LOGLIN_CHECK(eq != std::string::npos && eq > 0, "[config] bad --set '{}': expected a.b=value", spec);
  const std::string path = spec.substr(0, eq);
  const std::string where = "--set " + spec;
  const KeySpec* key = find_key(path);
  if (!key) {
    if (is_section(path))
      LOGLIN_FAIL("[config] {}: '{}' is a section; --set takes one key under it, such as '{}.{}'", where, path, path,
                  children_of(path).front());
    LOGLIN_FAIL("[config] {}: {}", where, unknown_key_message(path));
  }
  assign_value(*key, config, spec.substr(eq + 1), false, where);
  origins[path] = where;
  if (is_list(*key))  // the entries are the override's now, not the file's lines
    for (auto it = origins.lower_bound(path + "["); it != origins.end() && it->first.rfind(path + "[", 0) == 0;)
      it = origins.erase(it);
}

}  // namespace

void assign_list_text(const KeySpec& key, TrainConfig& config, const std::string& text, const std::string& where) {
  YAML::Node v;
  try {
    v = YAML::Load(text);
    read_task_list(key, config, v, where, [&where](const YAML::Mark&) { return where; }, nullptr);
  } catch (const YAML::Exception& e) {
    LOGLIN_FAIL("[config] {}: '{}' is not valid YAML: {} (write it as [{{seq_len: 64, num_pairs: 4, examples: "
                "1000}}, ...])",
                where, key.path, e.msg);
  }
}

std::string unknown_key_message(const std::string& path) {
  const size_t dot = path.rfind('.');
  const std::string parent = dot == std::string::npos ? "" : path.substr(0, dot);
  const std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
  std::string suggestion;
  if (parent.empty() || is_section(parent)) {
    std::string near = closest_match(leaf, children_of(parent));
    if (!near.empty()) suggestion = parent.empty() ? near : parent + "." + near;
  }
  if (suggestion.empty()) {  // the right name in the wrong section ("training.lr")
    for (const auto& k : schema())
      if (k.path.size() > leaf.size() && k.path.compare(k.path.size() - leaf.size(), leaf.size(), leaf) == 0 &&
          k.path[k.path.size() - leaf.size() - 1] == '.') {
        suggestion = k.path;
        break;
      }
  }
  if (suggestion.empty()) {
    std::vector<std::string> all = section_paths();
    for (const auto& k : schema()) all.push_back(k.path);
    suggestion = closest_match(path, all);
  }
  if (!suggestion.empty()) return fmt::format("unknown key '{}' (did you mean '{}'?)", path, suggestion);
  std::string known;
  const std::string listed = parent.empty() || !is_section(parent) ? "" : parent;
  for (const auto& c : children_of(listed)) known += (known.empty() ? "" : ", ") + c;
  return fmt::format("unknown key '{}' ({} are: {})", path,
                     listed.empty() ? "the sections" : fmt::format("the keys in '{}'", listed), known);
}

}  // namespace config_detail

TrainConfig parse_config(const std::string& yaml_text, const std::string& source_name,
                         const std::vector<std::string>& overrides) {
  using namespace config_detail;
  YAML::Node root;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(yaml_text);
    LOGLIN_CHECK(docs.size() <= 1, "[config] {}: holds {} YAML documents (separated by ---); a config is one",
                 source_name, docs.size());
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::Exception& e) {
    LOGLIN_FAIL("[config] {}{}: invalid YAML: {}", source_name,
                e.mark.is_null() ? "" : fmt::format(":{}", e.mark.line + 1), e.msg);
  }
  TrainConfig config;
  Origins origins;
  Loader loader{source_name, config, origins, {}};
  if (!root.IsNull()) {
    LOGLIN_CHECK(root.IsMap(), "[config] {}: the top level must be a map of sections (model:, data:, ...), got {}",
                 loader.at(root.Mark()), node_kind(root));
    try {
      loader.walk(root, "");
    } catch (const YAML::Exception& e) {  // yaml-cpp's own checks while walking
      LOGLIN_FAIL("[config] {}: {}", loader.at(e.mark), e.msg);
    }
  }
  for (const auto& spec : overrides) apply_override(spec, config, origins);
  for (const auto& key : schema())
    if (key.required && !origins.count(key.path))
      LOGLIN_FAIL("[config] {}: missing required key '{}'{}", source_name, key.path,
                  key.choices.empty() ? "" : fmt::format(" (one of {})", allowed_text(key)));
  check_config(config, origins, source_name);
  return config;
}

TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  LOGLIN_CHECK(!std::filesystem::is_directory(path, ec), "[config] '{}' is a directory, not a config file", path);
  std::ifstream in(path, std::ios::binary);
  LOGLIN_CHECK(in.good(), "[config] cannot read config file '{}': {}", path, std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  LOGLIN_CHECK(!in.bad(), "[config] error reading config file '{}'", path);
  return parse_config(text.str(), path, overrides);
}

}  // namespace loglin

// YAML text + --set overrides -> a validated TrainConfig. The only file in
// train/config that sees yaml-cpp (linked PRIVATE, so config.h stays free of it).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
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

struct Loader {
  const std::string& source;
  TrainConfig& config;
  Origins& origins;
  std::map<std::string, std::string> seen;  // path -> where, for duplicates

  std::string at(const YAML::Mark& m) const { return m.is_null() ? source : fmt::format("{}:{}", source, m.line + 1); }

  void assign(const KeySpec& key, const YAML::Node& v, const std::string& where) {
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
}

}  // namespace

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

#include "train/hf/hf_json.h"

#include <cmath>

#include "core/error.h"

namespace loglin::hf {

ConfigReader::ConfigReader(json::Value root, std::string where) : root_(std::move(root)), where_(std::move(where)) {
  LOGLIN_CHECK(root_.is_object(), "[import] {}: not a JSON object", where_);
}

bool ConfigReader::has(const std::string& key) const { return root_.contains(key) && !root_.at(key).is_null(); }

const json::Value& ConfigReader::at(const std::string& key) const {
  LOGLIN_CHECK(has(key), "[import] {}: key '{}' is missing", where_, key);
  return root_.at(key);
}

int64_t ConfigReader::get_int(const std::string& key) const {
  const json::Value& v = at(key);
  // 2.0 is an integer too (Python writes expand_v = 2.0).
  if (v.is_number() && !v.is_integer() && std::floor(v.as_double()) == v.as_double()) return int64_t(v.as_double());
  LOGLIN_CHECK(v.is_integer(), "[import] {}: '{}' is {}, expected an integer", where_, key, v.dump());
  return v.as_int();
}

int64_t ConfigReader::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double ConfigReader::get_double(const std::string& key) const {
  const json::Value& v = at(key);
  LOGLIN_CHECK(v.is_number(), "[import] {}: '{}' is {}, expected a number", where_, key, v.dump());
  return v.as_double();
}

double ConfigReader::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool ConfigReader::get_bool(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const json::Value& v = at(key);
  LOGLIN_CHECK(v.is_bool(), "[import] {}: '{}' is {}, expected true or false", where_, key, v.dump());
  return v.as_bool();
}

std::string ConfigReader::get_string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const json::Value& v = at(key);
  LOGLIN_CHECK(v.is_string(), "[import] {}: '{}' is {}, expected a string", where_, key, v.dump());
  return v.as_string();
}

void ConfigReader::require_bool(const std::string& key, bool fallback, bool want, const std::string& why) const {
  LOGLIN_CHECK(get_bool(key, fallback) == want, "[import] {}: '{}' must be {} for loglin: {}", where_, key,
               want ? "true" : "false", why);
}

void ConfigReader::require_string(const std::string& key, const std::string& fallback, const std::string& want,
                                  const std::string& why) const {
  const std::string got = get_string(key, fallback);
  LOGLIN_CHECK(got == want, "[import] {}: '{}' is \"{}\", loglin needs \"{}\": {}", where_, key, got, want, why);
}

void ConfigReader::require_null(const std::string& key, const std::string& why) const {
  LOGLIN_CHECK(!has(key), "[import] {}: '{}' is {}, loglin needs it absent or null: {}", where_, key,
               root_.at(key).dump(), why);
}

std::string dump_config(const json::Value::Object& config) {
  std::string out = "{\n";
  size_t i = 0;
  for (const auto& [k, v] : config) {
    out += "  ";
    json::append_quoted(out, k);
    out += ": " + v.dump() + (++i < config.size() ? ",\n" : "\n");
  }
  return out + "}\n";
}

}  // namespace loglin::hf

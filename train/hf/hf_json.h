// config.json for the Hugging Face layouts: reading its fields with errors
// that name the file and the key, and writing it one key per line.
#pragma once
#include <cstdint>
#include <string>

#include "train/checkpoint/json.h"

namespace loglin::hf {

class ConfigReader {
 public:
  ConfigReader(json::Value root, std::string where);
  bool has(const std::string& key) const;  // present and not null
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // Fails naming the key unless its value (or the fallback, when absent) is `want`.
  void require_bool(const std::string& key, bool fallback, bool want, const std::string& why) const;
  void require_string(const std::string& key, const std::string& fallback, const std::string& want,
                      const std::string& why) const;
  void require_null(const std::string& key, const std::string& why) const;
  const std::string& where() const { return where_; }

 private:
  const json::Value& at(const std::string& key) const;
  json::Value root_;
  std::string where_;
};

// {"a": 1, ...} with one top-level key per line, in key order.
std::string dump_config(const json::Value::Object& config);

}  // namespace loglin::hf

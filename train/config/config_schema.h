// The config schema: one KeySpec per YAML key. Internal to train/config.
// A key's path is the C++ member path (LOGLIN_CONFIG_KEY(model.d_model)
// both names the YAML key and reaches the field), its type is the field's
// type, its default is the member initialiser in config.h.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "train/config/config.h"

namespace loglin::config_detail {

// A list key (data.mqar.train_mix, data.mqar.test_configs) holds MqarTaskConfig entries.
using TaskList = std::vector<MqarTaskConfig>;
using FieldRef = std::variant<int*, int64_t*, double*, bool*, std::string*, TaskList*>;

// The keys of one list entry ({seq_len: 64, num_pairs: 4, examples: 1000}), each required, with its lower bound.
struct TaskField {
  const char* name;
  int MqarTaskConfig::*member;
  int min;
};
inline constexpr TaskField kTaskFields[] = {
    {"seq_len", &MqarTaskConfig::seq_len, 2},
    {"num_pairs", &MqarTaskConfig::num_pairs, 1},
    {"examples", &MqarTaskConfig::examples, 1},
};

struct KeySpec {
  std::string path;  // "data.mqar.num_pairs"
  std::function<FieldRef(TrainConfig&)> field;
  std::string help;  // one line, for the table and the YAML comments
  bool required = false;
  std::optional<double> lo, hi;
  bool lo_open = false, hi_open = false;
  bool power_of_two = false;
  bool device = false;               // auto | cpu | cuda | cuda:N
  std::vector<std::string> choices;  // non-empty: a string from this list

  KeySpec(std::string p, std::function<FieldRef(TrainConfig&)> f, std::string h)
      : path(std::move(p)), field(std::move(f)), help(std::move(h)) {}
  KeySpec& min(double v) {
    lo = v;
    lo_open = false;
    return *this;
  }
  KeySpec& above(double v) {
    lo = v;
    lo_open = true;
    return *this;
  }
  KeySpec& max(double v) {
    hi = v;
    hi_open = false;
    return *this;
  }
  KeySpec& below(double v) {
    hi = v;
    hi_open = true;
    return *this;
  }
  KeySpec& pow2() {
    power_of_two = true;
    return *this;
  }
  KeySpec& one_of(std::vector<std::string> c) {
    choices = std::move(c);
    return *this;
  }
  KeySpec& device_name() {
    device = true;
    return *this;
  }
  KeySpec& needed() {
    required = true;
    return *this;
  }
};

#define LOGLIN_CONFIG_KEY(member, help) \
  ::loglin::config_detail::KeySpec(     \
      #member, [](::loglin::TrainConfig& c) -> ::loglin::config_detail::FieldRef { return &c.member; }, help)

// Every key, grouped by section in the order to_yaml writes them.
const std::vector<KeySpec>& schema();
const KeySpec* find_key(const std::string& path);
// "model", "data", "data.mqar", ... in order of first appearance.
const std::vector<std::string>& section_paths();
// Names directly under a section ("" = top level): its keys and subsections.
std::vector<std::string> children_of(const std::string& section);

// Where each explicitly given key came from ("x.yaml:12", "--set a.b=1").
using Origins = std::map<std::string, std::string>;

// Parses text as the key's type, checks range and choices, stores it.
// where names the source in errors. quoted: the YAML scalar was quoted, so
// it is a string, not a number or bool.
void assign_value(const KeySpec& key, TrainConfig& config, const std::string& text, bool quoted,
                  const std::string& where);
// A key's value as YAML (strings quoted when needed), the inverse of assign_value.
// A list is written in flow style on one line ("" when empty).
std::string format_value(const KeySpec& key, const TrainConfig& config);
// "integer", "number", "bool", "string", "choice", "list".
std::string type_name(const KeySpec& key);
bool is_list(const KeySpec& key);
// One list entry in YAML flow style: "{seq_len: 64, num_pairs: 4, examples: 1000}".
std::string format_task(const MqarTaskConfig& t);
// A list key given as YAML text (--set 'data.mqar.train_mix=[{seq_len: 64, ...}]'):
// parsed and checked as in a file. Lives in config_load.cpp, with yaml-cpp.
void assign_list_text(const KeySpec& key, TrainConfig& config, const std::string& text, const std::string& where);
// "> 0", "[0, 1)", "transformer | mamba2", "" when anything of the type goes.
std::string allowed_text(const KeySpec& key);

// Cross-key checks and resolution (training.steps vs max_tokens).
void check_config(TrainConfig& config, const Origins& origins, const std::string& source);

// "unknown key 'x' (did you mean 'y'?)" with the best suggestion for path.
std::string unknown_key_message(const std::string& path);

}  // namespace loglin::config_detail

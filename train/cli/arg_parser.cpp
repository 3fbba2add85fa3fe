#include "train/cli/arg_parser.h"

#include "core/error.h"

namespace loglin::cli {

Args::Args(const std::string& command, const std::vector<std::string>& args, const std::set<std::string>& value_flags,
           const std::set<std::string>& bool_flags)
    : command_(command) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      positionals_.push_back(a);
      continue;
    }
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (a == "--set" || value_flags.count(a)) {
      if (!has_value) {
        LOGLIN_CHECK(i + 1 < args.size(), "[{}] {} needs a value", command_, a);
        value = args[++i];
      }
      if (a == "--set") sets_.push_back(value);
      else values_[a] = value;
    } else if (bool_flags.count(a)) {
      LOGLIN_CHECK(!has_value, "[{}] {} takes no value", command_, a);
      values_[a] = "1";
    } else {
      LOGLIN_FAIL("[{}] unknown option '{}' (see loglin {} --help)", command_, a, command_);
    }
  }
}

const std::string& Args::positional(const std::string& what) const {
  LOGLIN_CHECK(positionals_.size() == 1, "[{}] expected one {} argument, got {}", command_, what, positionals_.size());
  return positionals_[0];
}

bool Args::has(const std::string& flag) const { return values_.count(flag) > 0; }

std::string Args::get(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

double Args::get_double(const std::string& flag, double fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  try {
    size_t used = 0;
    double v = std::stod(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  LOGLIN_FAIL("[{}] {} needs a number, got '{}'", command_, flag, it->second);
}

int64_t Args::get_int(const std::string& flag, int64_t fallback) const {
  auto it = values_.find(flag);
  if (it == values_.end()) return fallback;
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  LOGLIN_FAIL("[{}] {} needs an integer, got '{}'", command_, flag, it->second);
}

}  // namespace loglin::cli

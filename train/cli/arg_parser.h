// A small argument parser for the subcommands: positionals, --flag VALUE
// (or --flag=VALUE), repeated --set, and --help. Errors name the command.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace loglin::cli {

class Args {
 public:
  // `value_flags` take a value; `bool_flags` do not. Unknown flags are errors.
  Args(const std::string& command, const std::vector<std::string>& args, const std::set<std::string>& value_flags,
       const std::set<std::string>& bool_flags = {});
  bool help() const { return help_; }
  const std::vector<std::string>& positionals() const { return positionals_; }
  // The one positional this command needs, named `what` in the error.
  const std::string& positional(const std::string& what) const;
  bool has(const std::string& flag) const;
  std::string get(const std::string& flag, const std::string& fallback) const;
  double get_double(const std::string& flag, double fallback) const;
  int64_t get_int(const std::string& flag, int64_t fallback) const;
  const std::vector<std::string>& sets() const { return sets_; }  // every --set a.b=c

 private:
  std::string command_;
  bool help_ = false;
  std::vector<std::string> positionals_, sets_;
  std::map<std::string, std::string> values_;
};

}  // namespace loglin::cli

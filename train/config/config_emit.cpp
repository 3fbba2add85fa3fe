// Writing the schema out: the resolved config as YAML and the reference table.
#include <fmt/format.h>

#include <algorithm>

#include "train/config/config_schema.h"

namespace loglin {
namespace {

std::string parent_of(const std::string& path) {
  size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

size_t depth_of(const std::string& path) { return size_t(std::count(path.begin(), path.end(), '.')); }

// "|" inside a Markdown table cell would end the cell.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string to_yaml(const TrainConfig& config) {
  using namespace config_detail;
  std::string out = "# loglin training config, fully resolved: every key with its value.\n";
  std::string open;  // the section whose keys are being written
  for (const auto& key : schema()) {
    const std::string section = parent_of(key.path);
    if (section != open) {
      // Open each section between the common ancestor and this one.
      std::string common = open;
      while (!common.empty() && section.rfind(common + ".", 0) != 0 && section != common) common = parent_of(common);
      std::vector<std::string> chain;
      for (std::string s = section; s != common && !s.empty(); s = parent_of(s)) chain.insert(chain.begin(), s);
      for (const auto& s : chain) {
        std::string leaf = s.substr(s.rfind('.') == std::string::npos ? 0 : s.rfind('.') + 1);
        out += fmt::format("{}{}{}:\n", depth_of(s) == 0 ? "\n" : "", std::string(2 * depth_of(s), ' '), leaf);
      }
      open = section;
    }
    const std::string indent(2 * depth_of(key.path), ' ');
    const std::string leaf = key.path.substr(key.path.rfind('.') + 1);
    if (is_list(key)) {  // one entry a line; nothing after the colon (null) reads back as the empty default
      out += fmt::format("{:<36} # {}\n", fmt::format("{}{}:", indent, leaf), key.help);
      for (const auto& t : *std::get<TaskList*>(key.field(const_cast<TrainConfig&>(config))))
        out += fmt::format("{}  - {}\n", indent, format_task(t));
      continue;
    }
    std::string line = fmt::format("{}{}: {}", indent, leaf, format_value(key, config));
    out += fmt::format("{:<36} # {}\n", line, key.help);
  }
  return out;
}

std::string config_reference_markdown() {
  using namespace config_detail;
  TrainConfig defaults;
  std::string out = "| key | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const auto& key : schema()) {
    const std::string value = format_value(key, defaults);
    std::string def = key.required                    ? std::string("(required)")
                      : is_list(key) && value.empty() ? std::string("(none)")
                                                      : fmt::format("`{}`", value);
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", key.path, type_name(key), cell(def), cell(allowed_text(key)),
                       cell(key.help));
  }
  return out;
}

}  // namespace loglin

// Scalar text <-> typed field, with the per-key range and choice checks.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "core/error.h"
#include "train/config/config_schema.h"
#include "train/config/suggest.h"

namespace loglin::config_detail {
namespace {

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Shortest text that reads back as the same double and still looks like a
// number with a fraction, so YAML readers see a float.
std::string format_double(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string format_number(double v) {
  return v == std::floor(v) && std::abs(v) < 1e15 ? fmt::format("{}", int64_t(v)) : format_double(v);
}

// Digits, sign, point, exponent and '_' separators (YAML 1.1 allows
// 1_000_000); nothing strtod would read as hex, inf or nan.
bool parse_number(const std::string& raw, double& out) {
  std::string s;
  for (char c : trim(raw)) {
    if (c == '_') continue;
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E'))
      return false;
    s += c;
  }
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(out);
}

bool parse_integer(const std::string& raw, int64_t& out) {
  std::string s;
  for (char c : trim(raw))
    if (c != '_') s += c;
  const char* b = s.c_str() + (!s.empty() && s[0] == '+' ? 1 : 0);
  auto [p, ec] = std::from_chars(b, s.c_str() + s.size(), out);
  if (ec == std::errc() && p == s.c_str() + s.size() && !s.empty()) return true;
  // 1e6 and 2.0 are integers written as floats; 2.5 is not.
  double d = 0;
  if (!parse_number(raw, d) || d != std::floor(d) || std::abs(d) > 9.0e18) return false;
  out = int64_t(d);
  return true;
}

bool parse_bool(const std::string& raw, bool& out) {
  std::string s = trim(raw);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (s == "true" || s == "yes" || s == "on") return out = true, true;
  if (s == "false" || s == "no" || s == "off") return out = false, true;
  return false;
}

bool is_device_name(const std::string& s) {
  if (s == "auto" || s == "cpu" || s == "cuda") return true;
  if (s.rfind("cuda:", 0) != 0 || s.size() == 5 || s.size() > 8) return false;
  return std::all_of(s.begin() + 5, s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::string quote_if_needed(const std::string& s) { return s.empty() ? "\"\"" : "'" + s + "'"; }

void check_range(const KeySpec& key, double v, const std::string& text, const std::string& where) {
  bool ok = true;
  if (key.lo) ok = ok && (key.lo_open ? v > *key.lo : v >= *key.lo);
  if (key.hi) ok = ok && (key.hi_open ? v < *key.hi : v <= *key.hi);
  if (!ok) LOGLIN_FAIL("[config] {}: '{}' must be {}, got {}", where, key.path, allowed_text(key), trim(text));
  if (key.power_of_two) {
    int64_t i = int64_t(v);
    LOGLIN_CHECK(i > 0 && (i & (i - 1)) == 0, "[config] {}: '{}' must be a power of two, got {}", where, key.path,
                 trim(text));
  }
}

std::string range_text(const KeySpec& key) {
  if (key.lo && key.hi)
    return fmt::format("in {}{}, {}{}", key.lo_open ? "(" : "[", format_number(*key.lo), format_number(*key.hi),
                       key.hi_open ? ")" : "]");
  if (key.lo) return fmt::format("{} {}", key.lo_open ? ">" : ">=", format_number(*key.lo));
  if (key.hi) return fmt::format("{} {}", key.hi_open ? "<" : "<=", format_number(*key.hi));
  return "";
}

// YAML double-quoted form: escapes keep arbitrary bytes (newlines, quotes,
// control characters) intact through a round trip.
std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out += char(c);
    }
  }
  return out + "\"";
}

}  // namespace

std::string type_name(const KeySpec& key) {
  if (!key.choices.empty() || key.device) return "choice";
  TrainConfig probe;
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>)
          return "bool";
        else if constexpr (std::is_same_v<T, double>)
          return "number";
        else if constexpr (std::is_same_v<T, std::string>)
          return "string";
        else if constexpr (std::is_same_v<T, TaskList>)
          return "list";
        else
          return "integer";
      },
      key.field(probe));
}

bool is_list(const KeySpec& key) {
  TrainConfig probe;
  return std::holds_alternative<TaskList*>(key.field(probe));
}

std::string format_task(const MqarTaskConfig& t) {
  std::string out;
  for (const auto& f : kTaskFields) out += fmt::format("{}{}: {}", out.empty() ? "{" : ", ", f.name, t.*f.member);
  return out + "}";
}

std::string allowed_text(const KeySpec& key) {
  if (key.device) return "auto | cpu | cuda | cuda:N";
  if (is_list(key)) {
    std::string out;
    for (const auto& f : kTaskFields) out += fmt::format("{}{} >= {}", out.empty() ? "entries {" : ", ", f.name, f.min);
    return out + "}";
  }
  if (!key.choices.empty()) {
    std::string out;
    for (const auto& c : key.choices) out += (out.empty() ? "" : " | ") + c;
    return out;
  }
  std::string r = range_text(key);
  if (key.power_of_two) r = r.empty() ? "a power of two" : "a power of two, " + r;
  return r;
}

void assign_value(const KeySpec& key, TrainConfig& config, const std::string& text, bool quoted,
                  const std::string& where) {
  auto wrong_type = [&](const char* expected) {
    if (quoted)
      LOGLIN_FAIL("[config] {}: '{}' expects {}, got the quoted string \"{}\"", where, key.path, expected, text);
    LOGLIN_FAIL("[config] {}: '{}' expects {}, got {}", where, key.path, expected, quote_if_needed(trim(text)));
  };
  std::visit(
      [&](auto* field) {
        using T = std::remove_pointer_t<decltype(field)>;
        if constexpr (std::is_same_v<T, bool>) {
          bool v = false;
          if (quoted || !parse_bool(text, v)) wrong_type("a bool (true or false)");
          *field = v;
        } else if constexpr (std::is_same_v<T, double>) {
          double v = 0;
          if (quoted || !parse_number(text, v)) wrong_type("a number");
          check_range(key, v, text, where);
          *field = v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (key.device && !is_device_name(text))
            LOGLIN_FAIL("[config] {}: '{}' must be one of {}, got {}", where, key.path, allowed_text(key),
                        quote_if_needed(text));
          if (!key.choices.empty() && std::find(key.choices.begin(), key.choices.end(), text) == key.choices.end()) {
            std::string near = closest_match(text, key.choices);
            LOGLIN_FAIL("[config] {}: '{}' must be one of {}, got {}{}", where, key.path, allowed_text(key),
                        quote_if_needed(text), near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near));
          }
          *field = text;
        } else if constexpr (std::is_same_v<T, TaskList>) {
          assign_list_text(key, config, text, where);
        } else {
          int64_t v = 0;
          if (quoted || !parse_integer(text, v)) wrong_type("an integer");
          if (v < int64_t(std::numeric_limits<T>::min()) || v > int64_t(std::numeric_limits<T>::max()))
            LOGLIN_FAIL("[config] {}: '{}' is out of range for its type, got {}", where, key.path, trim(text));
          check_range(key, double(v), text, where);
          *field = T(v);
        }
      },
      key.field(config));
}

std::string format_value(const KeySpec& key, const TrainConfig& config) {
  // field() hands out a pointer into the struct; it is only read here.
  return std::visit(
      [&](auto* field) -> std::string {
        using T = std::remove_pointer_t<decltype(field)>;
        if constexpr (std::is_same_v<T, bool>)
          return *field ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>)
          return format_double(*field);
        else if constexpr (std::is_same_v<T, std::string>)
          return key.choices.empty() && !key.device ? yaml_quote(*field) : *field;
        else if constexpr (std::is_same_v<T, TaskList>) {
          std::string out;
          for (const auto& t : *field) out += (out.empty() ? "[" : ", ") + format_task(t);
          return out.empty() ? out : out + "]";
        } else
          return fmt::format("{}", *field);
      },
      key.field(const_cast<TrainConfig&>(config)));
}

}  // namespace loglin::config_detail

#include "train/trainer/metrics_log.h"

#include <fmt/format.h>

#include <sstream>

#include "core/error.h"
#include "train/checkpoint/file_io.h"

namespace loglin {
namespace {

// The "step" of one of our own lines; -1 when there is none.
int64_t step_of(const std::string& line) {
  auto at = line.find("\"step\":");
  if (at == std::string::npos) return -1;
  return std::strtoll(line.c_str() + at + 7, nullptr, 10);
}

}  // namespace

MetricsLog::MetricsLog(const std::filesystem::path& path, int64_t resume_step) : path_(path) {
  if (resume_step >= 0 && std::filesystem::exists(path)) {
    std::istringstream in(io::read_file(path));
    std::string kept, line;
    while (std::getline(in, line))
      if (!line.empty() && step_of(line) <= resume_step) kept += line + "\n";
    io::write_file_atomic(path, kept);
  }
  out_.open(path, std::ios::app);
  LOGLIN_CHECK(out_.good(), "[metrics] cannot open {} for writing", path.string());
}

void MetricsLog::write(const std::string& kind, int64_t step,
                       const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string line = fmt::format("{{\"kind\":\"{}\",\"step\":{}", kind, step);
  for (const auto& [k, v] : fields) line += fmt::format(",\"{}\":{}", k, v);
  line += "}\n";
  out_ << line;
  out_.flush();
}

double MetricsRow::get(const std::string& name, double missing) const {
  for (const auto& [k, v] : values)
    if (k == name) return v;
  return missing;
}

std::vector<MetricsRow> read_metrics(const std::filesystem::path& path) {
  LOGLIN_CHECK(std::filesystem::exists(path), "[metrics] {} does not exist", path.string());
  std::istringstream in(io::read_file(path));
  std::vector<MetricsRow> rows;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    LOGLIN_CHECK(line.front() == '{' && line.back() == '}', "[metrics] {}:{}: not a JSON object", path.string(),
                 lineno);
    MetricsRow row;
    // Our own flat format: "key":value pairs, strings only for "kind".
    std::string body = line.substr(1, line.size() - 2);
    size_t pos = 0;
    while (pos < body.size()) {
      size_t k0 = body.find('"', pos), k1 = body.find('"', k0 + 1), colon = body.find(':', k1);
      if (k0 == std::string::npos || k1 == std::string::npos || colon == std::string::npos) break;
      std::string key = body.substr(k0 + 1, k1 - k0 - 1);
      size_t end = colon + 1;
      if (body[end] == '"') {
        size_t close = body.find('"', end + 1);
        if (key == "kind") row.kind = body.substr(end + 1, close - end - 1);
        end = close + 1;
      } else {
        end = body.find(',', colon);
        if (end == std::string::npos) end = body.size();
        double v = std::strtod(body.substr(colon + 1, end - colon - 1).c_str(), nullptr);
        if (key == "step") row.step = static_cast<int64_t>(v);
        else row.values.emplace_back(key, v);
      }
      pos = end + 1;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace loglin

// metrics.jsonl in the run directory: one JSON object per line, appended and
// flushed as training goes ("kind": "train" or "eval").
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace loglin {

class MetricsLog {
 public:
  // Opens for appending. With resume_step >= 0, first drops the lines of
  // steps after it (written by the run that is being resumed, after its last
  // checkpoint), so the file reads as one uninterrupted run.
  MetricsLog(const std::filesystem::path& path, int64_t resume_step);
  // fields: name -> already formatted JSON value.
  void write(const std::string& kind, int64_t step, const std::vector<std::pair<std::string, std::string>>& fields);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// Reads back (kind, step, field) rows, for `loglin plot` and tests: every
// line's numeric fields.
struct MetricsRow {
  std::string kind;
  int64_t step = 0;
  std::vector<std::pair<std::string, double>> values;
  double get(const std::string& name, double missing = 0) const;
};
std::vector<MetricsRow> read_metrics(const std::filesystem::path& path);

}  // namespace loglin

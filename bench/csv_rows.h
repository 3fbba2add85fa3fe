// The rows of a CSV file a peer script wrote (bench/peers/*.py), header
// skipped, each split at commas (the scripts write no quoted fields). A file
// that cannot be read gives no rows and a note on stderr: the bench then
// prints its peer columns as "-".
#pragma once
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace loglin::bench {

inline std::vector<std::vector<std::string>> read_csv_rows(const std::string& path, const char* who) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(path);
  if (!in) {
    fmt::print(stderr, "{}: cannot read --peers {}; the peer columns print as '-'\n", who, path);
    return rows;
  }
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) fields.push_back(x);
    rows.push_back(std::move(fields));
  }
  return rows;
}

}  // namespace loglin::bench

// Errors: one exception type; every message starts with the op or component
// that raised it in brackets ("[matmul] inner dims 64 and 65 differ") so the
// CLI can print it as one line.
#pragma once
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace loglin {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace loglin

// LOGLIN_CHECK(cond, "[op] fmt {}", args...) throws loglin::Error when cond is false.
#define LOGLIN_CHECK(cond, ...)                                \
  do {                                                         \
    if (!(cond)) throw ::loglin::Error(fmt::format(__VA_ARGS__)); \
  } while (0)

#define LOGLIN_FAIL(...) throw ::loglin::Error(fmt::format(__VA_ARGS__))

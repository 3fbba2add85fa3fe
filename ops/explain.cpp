// The printing side of LOGLIN_EXPLAIN (explain.h).
#include "ops/explain.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

namespace loglin {
namespace {

// -1: the environment decides; 0 / 1: set_explain's choice.
std::atomic<int> choice{-1};

bool from_environment() {
  static const bool on = [] {
    const char* e = std::getenv("LOGLIN_EXPLAIN");
    return e && std::string(e) == "1";
  }();
  return on;
}

}  // namespace

bool explain_enabled() {
  const int c = choice.load(std::memory_order_relaxed);
  return c >= 0 ? c == 1 : from_environment();
}

void set_explain(bool on) { choice.store(on ? 1 : 0); }

void explain(const char* op, const std::string& plan) {
  if (!explain_enabled()) return;
  static std::mutex mu;
  static std::set<std::string> seen;
  std::string line = std::string("[explain] ") + op + ": " + plan;
  std::lock_guard<std::mutex> lock(mu);
  if (!seen.insert(line).second) return;
  std::fprintf(stderr, "%s\n", line.c_str());
}

}  // namespace loglin

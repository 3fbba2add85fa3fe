// Small helpers for the core tests that read the same under Catch2 2.13 and 3.x
// (no Approx, no matchers): a tolerance check and an error-message check.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "catch.h"
#include "core/error.h"

namespace loglin_test {

// The message of the loglin::Error that f() throws, or "" when it throws none.
template <class F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const ::loglin::Error& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::abs(a[i] - b[i]);
    if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;  // NaN never passes
  }
  return m;
}

}  // namespace loglin_test

// |a - b| <= tol, printing both values when it fails. NaN fails.
#define LL_CHECK_NEAR(a, b, tol)                                                            \
  do {                                                                                      \
    const double ll_a_ = static_cast<double>(a), ll_b_ = static_cast<double>(b);            \
    INFO(#a << " = " << ll_a_ << ", " << #b << " = " << ll_b_ << ", tol = " << (tol));      \
    CHECK(std::abs(ll_a_ - ll_b_) <= (tol));                                                \
  } while (0)

// expr throws loglin::Error, and its message contains `needle` (the op name in
// brackets, say "[view]").
#define LL_CHECK_ERROR(expr, needle)                                                        \
  do {                                                                                      \
    CHECK_THROWS_AS(expr, ::loglin::Error);                                                 \
    const std::string ll_msg_ = ::loglin_test::error_message([&] { (void)(expr); });        \
    INFO("message: " << ll_msg_);                                                           \
    CHECK(::loglin_test::contains(ll_msg_, needle));                                        \
  } while (0)

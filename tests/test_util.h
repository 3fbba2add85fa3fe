// Helpers shared by every test folder that read the same under Catch2 2.13
// and 3.x (no Approx, no matchers): error-message and tolerance checks, a
// relative error of tensors, a scratch directory, an environment variable.
#pragma once
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "catch.h"
#include "core/error.h"
#include "core/tensor.h"

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

// ||a - b|| / ||b|| in double (||a - b|| when b is all zeros); NaN anywhere or
// a size mismatch gives infinity so it never passes.
inline double rel_err(const ::loglin::Tensor& a, const ::loglin::Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  if (va.size() != vb.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    num += (va[i] - vb[i]) * (va[i] - vb[i]);
    den += vb[i] * vb[i];
  }
  double e = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return std::isnan(e) ? INFINITY : e;
}

inline bool all_finite(const ::loglin::Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

// A fresh scratch directory under the system temp directory, named
// loglin_<tag>_<pid>_<counter>, removed with everything in it on destruction.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const char* tag) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("loglin_" + std::string(tag) + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// Sets an environment variable (or unsets it, for a null value) for its
// lifetime, then restores what was there.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~EnvVar() {
    if (had_) ::setenv(name_.c_str(), old_.c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  std::string name_, old_;
  bool had_ = false;
};

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

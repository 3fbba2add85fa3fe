// Whether ops record history. Thread-local, like torch's.
#pragma once

namespace loglin {

class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool on);
};

// While alive, ops record no graph (inference, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace loglin

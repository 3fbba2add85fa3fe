// The per-step log line (step, loss, lr, grad norm, tokens/s, ms/step, ETA).
// On a terminal it is a live progress bar redrawn in place; otherwise (or
// with logging.progress: off) it is a plain spdlog line every log_every steps.
#pragma once
#include <cstdint>
#include <string>

namespace loglin {

struct StepStats {
  int64_t step = 0;  // 1-based: steps done
  int64_t total = 0;
  double loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, ms_per_step = 0, eta_s = 0;
  bool skipped = false;
};

class ProgressReporter {
 public:
  // mode: auto | on | off (on = bar even when not a terminal).
  ProgressReporter(const std::string& mode, int log_every);
  void step(const StepStats& s);
  // A message of its own (eval results, samples): clears the bar first.
  void message(const std::string& text);
  void finish();
  bool live() const { return live_; }

 private:
  void clear_bar();
  bool live_ = false;
  bool bar_shown_ = false;
  int log_every_ = 1;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace loglin

#include "train/trainer/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace loglin {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  int64_t t = static_cast<int64_t>(std::llround(s));
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

ProgressReporter::ProgressReporter(const std::string& mode, int log_every) : log_every_(std::max(1, log_every)) {
  live_ = mode == "on" || (mode == "auto" && isatty(fileno(stderr)));
}

void ProgressReporter::clear_bar() {
  if (bar_shown_) {
    std::fputs("\r\033[2K", stderr);
    bar_shown_ = false;
  }
}

void ProgressReporter::step(const StepStats& s) {
  std::string line = fmt::format("step {}/{} | loss {:.4f} | lr {:.2e} | grad norm {:.3f} | {:.0f} tok/s | {:.0f} ms/step | ETA {}",
                                 s.step, s.total, s.loss, s.lr, s.grad_norm, s.tokens_per_s, s.ms_per_step,
                                 format_duration(s.eta_s));
  if (s.skipped) line += " | SKIPPED (non-finite gradients)";
  if (live_) {
    const int width = 24;
    int filled = s.total > 0 ? static_cast<int>(width * s.step / s.total) : 0;
    std::string bar(filled, '#');
    bar.resize(width, '-');
    std::fprintf(stderr, "\r\033[2K[%s] %s", bar.c_str(), line.c_str());
    std::fflush(stderr);
    bar_shown_ = true;
    return;
  }
  if (s.skipped || s.step % log_every_ == 0 || s.step == s.total) spdlog::info("{}", line);
}

void ProgressReporter::message(const std::string& text) {
  clear_bar();
  spdlog::info("{}", text);
}

void ProgressReporter::finish() {
  if (bar_shown_) {
    std::fputc('\n', stderr);
    bar_shown_ = false;
  }
}

}  // namespace loglin

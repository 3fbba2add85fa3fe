// The cells of the GPU benches' markdown tables: "-" where nothing was
// measured (NaN: a failed run, a peer not given).
#pragma once
#include <fmt/format.h>

#include <cmath>
#include <string>

namespace loglin::bench {

inline std::string cell_ms(double ms) { return std::isnan(ms) ? "-" : fmt::format("{:.2f}", ms); }

// a / b, as "peer ms / our ms" or "ours / ours".
inline std::string cell_ratio(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? "-" : fmt::format("{:.2f}", a / b);
}

// flops done in ms milliseconds, in TFLOP/s with `decimals` digits.
inline std::string cell_tflops(double flops, double ms, int decimals) {
  return std::isnan(ms) ? "-" : fmt::format("{:.{}f}", flops / (ms * 1e9), decimals);
}

}  // namespace loglin::bench

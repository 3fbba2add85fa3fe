// Timing helpers shared by the CPU benchmarks: warm up, then the median of
// several wall-clock runs.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace loglin::bench {

inline double median_ms(const std::function<void()>& fn, int warmup = 2, int runs = 7) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace loglin::bench

// Wall-clock timing for the CPU benchmarks: the median of several calls
// after one warm-up call, in milliseconds.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

namespace loglin::bench {

inline double median_ms(const std::function<void()>& f, int runs) {
  f();
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace loglin::bench

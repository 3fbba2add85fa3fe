// The GPU benchmarks' timer: warm up, then the median of CUDA-event timings
// of `runs` calls on loglin's stream of device 0 (so queued kernels, not host
// launch time, are what is measured). Include only in LOGLIN_WITH_CUDA code.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_stream.h"

namespace loglin::bench {

// host_ms (optional): the median wall time the host spent inside fn (queueing
// its work; the device may still be busy when fn returns).
inline double cuda_median_ms(const std::function<void()>& fn, int warmup, int runs, double* host_ms = nullptr) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaStream_t s = cuda::stream(0);
  cudaEvent_t start, stop;
  LOGLIN_CUDA_CHECK(cudaEventCreate(&start), "bench");
  LOGLIN_CUDA_CHECK(cudaEventCreate(&stop), "bench");
  std::vector<double> ms, host;
  for (int i = 0; i < runs; ++i) {
    LOGLIN_CUDA_CHECK(cudaEventRecord(start, s), "bench");
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    host.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    LOGLIN_CUDA_CHECK(cudaEventRecord(stop, s), "bench");
    LOGLIN_CUDA_CHECK(cudaEventSynchronize(stop), "bench");
    float t = 0;
    LOGLIN_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop), "bench");
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  std::sort(host.begin(), host.end());
  if (host_ms) *host_ms = host[host.size() / 2];
  return ms[ms.size() / 2];
}

}  // namespace loglin::bench

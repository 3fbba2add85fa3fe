// The GPU benchmarks' timer: warm up, then the median of CUDA-event timings
// of `runs` calls on loglin's stream of device 0 (so queued kernels, not host
// launch time, are what is measured). Include only in LOGLIN_WITH_CUDA code.
#pragma once
#include <algorithm>
#include <functional>
#include <vector>

#include "core/cuda_check.h"
#include "core/cuda_stream.h"

namespace loglin::bench {

inline double cuda_median_ms(const std::function<void()>& fn, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaStream_t s = cuda::stream(0);
  cudaEvent_t start, stop;
  LOGLIN_CUDA_CHECK(cudaEventCreate(&start), "bench");
  LOGLIN_CUDA_CHECK(cudaEventCreate(&stop), "bench");
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    LOGLIN_CUDA_CHECK(cudaEventRecord(start, s), "bench");
    fn();
    LOGLIN_CUDA_CHECK(cudaEventRecord(stop, s), "bench");
    LOGLIN_CUDA_CHECK(cudaEventSynchronize(stop), "bench");
    float t = 0;
    LOGLIN_CUDA_CHECK(cudaEventElapsedTime(&t, start, stop), "bench");
    ms.push_back(t);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace loglin::bench

// core/cuda_events.h: cudaEvent_t handles passed as void* (an event is a
// pointer type), recorded on the stream every loglin kernel runs on.
#include <cuda_runtime.h>

#include "core/cuda_check.h"
#include "core/cuda_events.h"
#include "core/cuda_stream.h"

namespace loglin::cuda {

void* event_create(int device) {
  (void)stream(device);  // makes `device` current, so the event belongs to it
  cudaEvent_t e = nullptr;
  LOGLIN_CUDA_CHECK(cudaEventCreate(&e), "timer");
  return static_cast<void*>(e);
}

void event_destroy(void* event, int device) {
  if (!event) return;
  (void)stream(device);
  cudaEventDestroy(static_cast<cudaEvent_t>(event));  // no throw: called from a destructor
}

void event_record(void* event, int device) {
  LOGLIN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), stream(device)), "timer");
}

double event_elapsed_ms(void* start, void* stop, int device) {
  (void)stream(device);
  LOGLIN_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)), "timer");
  float ms = 0;
  LOGLIN_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)),
                    "timer");
  return static_cast<double>(ms);
}

}  // namespace loglin::cuda

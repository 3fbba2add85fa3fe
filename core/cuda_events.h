// CUDA events on loglin's stream of a device, behind plain pointers so that
// core/device_timing.cpp needs no CUDA headers. In builds without CUDA each
// throws a clear error (core/cuda_runtime_stub.cpp).
#pragma once

namespace loglin::cuda {

void* event_create(int device);
void event_destroy(void* event, int device);
// Records the event after the work queued so far on the device's stream.
void event_record(void* event, int device);
// Milliseconds between two recorded events; waits for `stop`.
double event_elapsed_ms(void* start, void* stop, int device);

}  // namespace loglin::cuda

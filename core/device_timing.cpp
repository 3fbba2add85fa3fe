#include "core/device_timing.h"

#include "core/cuda_events.h"
#include "core/cuda_memory.h"
#include "core/error.h"

namespace loglin {

void synchronize(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

DeviceTimer::DeviceTimer(Device device) : device_(device) {
  if (!device_.is_cuda()) return;
  start_event_ = cuda::event_create(device_.index);
  try {
    stop_event_ = cuda::event_create(device_.index);
  } catch (...) {
    cuda::event_destroy(start_event_, device_.index);
    throw;
  }
}

DeviceTimer::~DeviceTimer() {
  cuda::event_destroy(start_event_, device_.index);
  cuda::event_destroy(stop_event_, device_.index);
}

void DeviceTimer::start() {
  if (device_.is_cuda()) cuda::event_record(start_event_, device_.index);
  else host_start_ = std::chrono::steady_clock::now();
  started_ = true;
  stopped_ = false;
}

void DeviceTimer::stop() {
  LOGLIN_CHECK(started_, "[DeviceTimer] stop() before start() (timer on {})", device_.str());
  if (device_.is_cuda()) cuda::event_record(stop_event_, device_.index);
  else host_stop_ = std::chrono::steady_clock::now();
  stopped_ = true;
}

double DeviceTimer::elapsed_ms() const {
  LOGLIN_CHECK(started_ && stopped_, "[DeviceTimer] elapsed_ms() needs start() and then stop() (timer on {})",
               device_.str());
  if (device_.is_cuda()) return cuda::event_elapsed_ms(start_event_, stop_event_, device_.index);
  return std::chrono::duration<double, std::milli>(host_stop_ - host_start_).count();
}

}  // namespace loglin

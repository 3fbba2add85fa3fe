// Waiting for a device, and timing the work queued on it, from user code.
// Ops on CUDA tensors return as soon as their kernels are queued on the
// device's stream (core/cuda_stream.h), so a host clock read around them
// measures the queueing, not the work. synchronize() waits for the queue to
// drain; DeviceTimer records CUDA events on the stream and reads the time
// between them, without stopping the host in between.
//
//   DeviceTimer timer(Device::cuda());
//   timer.start();
//   Tensor loss = cross_entropy(model.forward(ids), targets);
//   loss.backward();
//   timer.stop();
//   double ms = timer.elapsed_ms();  // waits for the stop event only
//
// On the CPU ops finish before they return: synchronize() returns at once and
// the timer reads the host's steady clock. A CUDA device in a build without
// CUDA is a clear error.
#pragma once
#include <chrono>

#include "core/device.h"

namespace loglin {

// Waits until everything queued on `device` has finished.
void synchronize(Device device);

class DeviceTimer {
 public:
  explicit DeviceTimer(Device device);
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  // Marks the start (again, for a new measurement) and the end of the work
  // queued on the device in between.
  void start();
  void stop();
  // Milliseconds from start() to stop(); on CUDA it waits for the stop
  // event. An error before start() and stop() have both been called.
  double elapsed_ms() const;
  Device device() const { return device_; }

 private:
  Device device_;
  void* start_event_ = nullptr;  // cudaEvent_t on CUDA
  void* stop_event_ = nullptr;
  std::chrono::steady_clock::time_point host_start_, host_stop_;
  bool started_ = false, stopped_ = false;
};

}  // namespace loglin

// Where a tensor lives. CUDA tensors arrive with the CUDA backend; until then
// (and in builds without CUDA) asking for one is a clear error, not a crash.
#pragma once
#include <string>

namespace loglin {

enum class DeviceType { cpu, cuda };

struct Device {
  DeviceType type = DeviceType::cpu;
  int index = 0;

  static Device cpu() { return {DeviceType::cpu, 0}; }
  static Device cuda(int index = 0) { return {DeviceType::cuda, index}; }
  static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"

  bool is_cpu() const { return type == DeviceType::cpu; }
  bool is_cuda() const { return type == DeviceType::cuda; }
  std::string str() const;
  bool operator==(const Device& o) const { return type == o.type && (is_cpu() || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// True when this build has CUDA support and at least one device answers.
bool cuda_is_available();
int cuda_device_count();
bool built_with_cuda();
// "NVIDIA H100 80GB HBM3, 79.1 GiB" for cuda:index; "" when there is none.
std::string cuda_device_description(int index);

}  // namespace loglin

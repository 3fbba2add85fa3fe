// The host side of the CUDA path: the job, node and sequence tables of a
// Layout (chunk_cuda.h), uploaded to the device. Small (a few int64 per
// chunk); the upload does not wait for the device.
#pragma once
#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/log_linear_attention/cuda/chunk_cuda.h"

namespace loglin::lla {

struct GpuPlan {
  GpuProblem prob;
  Tensor tables;  // the device memory prob's table pointers point into
};

GpuPlan make_gpu_plan(const Layout& lay, Device device);

// The same problem's sizes without the tables (no upload): what a plan needs
// to choose a kernel version.
GpuProblem problem_of(const Layout& lay, Device device);

}  // namespace loglin::lla

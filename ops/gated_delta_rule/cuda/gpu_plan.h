// The host side of the gated delta rule's CUDA versions: the problem of a
// Layout (gdr_cuda.h) and its sequence table, uploaded to the device (three
// int64 per sequence; the upload does not wait for the device).
#pragma once
#include "core/tensor.h"
#include "ops/chunk_layout/layout.h"
#include "ops/gated_delta_rule/cuda/gdr_cuda.h"

namespace loglin::gdr {

struct GpuPlan {
  GpuProblem prob;
  Tensor table;  // the device memory prob.seqs points into
};

// The sizes only (prob.seqs stays null): what the plan needs to choose a version.
GpuProblem problem_of(const lla::Layout& lay, bool log_linear, Device device);

// The sizes and the uploaded sequence table.
GpuPlan make_gpu_plan(const lla::Layout& lay, bool log_linear, Device device);

}  // namespace loglin::gdr

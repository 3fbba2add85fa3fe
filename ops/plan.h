// The plan of one call of an op with several implementations: what an
// entry decides after checking its inputs and before running anything.
// Entries read top to bottom: check the inputs, make the plan (one
// function), run the plan, record the backward. LOGLIN_EXPLAIN=1 prints each
// distinct plan once (ops/explain.h), and each such op has a plan_<op>()
// that returns the plan of a call without running it.
#pragma once
#include <string>

#include "core/device.h"
#include "core/dtype.h"

namespace loglin {

struct KernelPlan {
  std::string op;
  std::string call;                   // shapes and options, one line
  Device device = Device::cpu();
  DType input_dtype = DType::f32;     // q's dtype as given
  DType compute_dtype = DType::f32;   // what the kernels compute on (inputs converted at the entry)
  bool autocast = false;              // f32 inputs computed in bf16 under bf16 autocast, output back in f32
  bool tf32 = false;                  // f32 products on TF32 tensor cores (float32_matmul_precision "high")
  std::string split;                  // "" or how the call is cut into narrower calls
  std::string version = "cpu";        // "cpu", or the registered CUDA kernel version that runs it
  std::string reason;                 // why this version and dtype

  // "q [..] bf16 on cuda:0 -> v2 in bf16 (...): reason", one line.
  std::string str() const;
};

}  // namespace loglin

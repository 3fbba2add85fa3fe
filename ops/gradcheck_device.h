// A registered gradcheck case run on another device against the cpu, from
// the same random inputs: the output and every input gradient (of
// sum(out * w) for a fixed random w) must agree. This is how each op's CUDA
// path is checked (`loglin gradcheck --cuda`, tests/ops/test_cuda_vs_cpu.cpp).
#pragma once
#include <string>

#include "ops/gradcheck_cases.h"

namespace loglin {

struct DeviceCheckResult {
  double out_err = 0;   // ||out_dev - out_cpu|| / ||out_cpu||
  double grad_err = 0;  // the worst such error over the inputs' gradients
  std::string error;    // a loglin::Error thrown on the device side, if any
  bool passed = false;  // no error and both errors within tolerance
};

// 1e-10 for f64 (rounding only), 2e-5 for f32 (DESIGN.md's f32 tolerance).
double device_check_tolerance(DType dtype);

// Runs c in `dtype` (floating inputs converted from the case's f64) on the
// cpu and on `device`. Cases with options.in_place reach tensors other than
// their inputs and are not supported (an error).
DeviceCheckResult check_case_on_device(const GradcheckCase& c, DType dtype, Device device, uint64_t seed);

}  // namespace loglin

// Every registered gradcheck case, run on CUDA and on the CPU from the same
// random inputs (ops/gradcheck_device.h): outputs and input gradients must
// agree, f64 to rounding and f32 within DESIGN.md's f32 tolerance. A case
// whose op has no CUDA path fails here, naming the op.
#include <sstream>

#include "catch.h"
#include "ops/gradcheck_device.h"

using namespace loglin;

TEST_CASE("cuda: every registered op matches the cpu in f64 and f32", "[cuda][ops]") {
  LOGLIN_REQUIRE_CUDA();
  std::ostringstream failures;
  int n_failed = 0, n_run = 0;
  for (const GradcheckCase& c : gradcheck_cases()) {
    if (c.options.in_place) continue;  // reaches module parameters, not its inputs
    for (DType dtype : {DType::f64, DType::f32}) {
      const DeviceCheckResult r = check_case_on_device(c, dtype, Device::cuda(), 7);
      ++n_run;
      if (!r.passed) {
        ++n_failed;
        failures << c.op << " " << c.label << " " << dtype_name(dtype) << ": " << (r.error.empty() ? "" : r.error + " ")
                 << "out rel err " << r.out_err << ", grad rel err " << r.grad_err << "\n";
      }
    }
  }
  INFO("failed cases (" << n_failed << " of " << n_run << "):\n" << failures.str());
  CHECK(n_failed == 0);
  CHECK(n_run > 100);
}

// The same harness with the cpu as the "other" device: the plumbing (inputs,
// weights, gradients, errors) is checked on every machine.
TEST_CASE("the device harness agrees exactly for the cpu against itself", "[ops][gradcheck]") {
  int n = 0;
  for (const GradcheckCase& c : gradcheck_cases()) {
    if (c.options.in_place || n >= 40) continue;
    const DeviceCheckResult r = check_case_on_device(c, DType::f32, Device::cpu(), 3);
    INFO(c.op << " " << c.label << ": " << r.error);
    CHECK(r.passed);
    CHECK(r.out_err == 0);
    CHECK(r.grad_err == 0);
    ++n;
  }
  CHECK(n == 40);
}

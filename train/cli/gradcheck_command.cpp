// `loglin gradcheck [OP] [--seed N] [--list] [--cuda]`: runs the gradcheck
// registry (or, with --cuda, each case on the GPU against the CPU) and prints
// one row per case; exits 1 if any case fails.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/device.h"
#include "ops/gradcheck_cases.h"
#include "ops/gradcheck_device.h"
#include "train/cli/commands.h"

namespace loglin::cli {
namespace {

constexpr const char* kUsage = R"(usage: loglin gradcheck [OP] [--seed N] [--list] [--cuda]

Compares every differentiable op's hand-written backward with float64 central
finite differences, on random inputs at small sizes, and prints a table:
op, inputs, max abs err, max rel err, pass. Exits 1 if any case fails.

  OP          check only this op (see --list)
  --seed N    seed for the random inputs (default 0)
  --list      print the registered op names and exit
  --cuda      instead, run each case on the GPU and on the CPU from the same
              inputs, in f64 and f32, and compare the outputs and the input
              gradients (relative error; f64 to 1e-10, f32 to 2e-5)
)";

// --cuda: one row per case and dtype.
int device_table(const std::string& op, uint64_t seed) {
  LOGLIN_CHECK(cuda_is_available(), "[gradcheck] --cuda needs a CUDA device, and none answers here{}",
               built_with_cuda() ? "" : " (this loglin was built without CUDA)");
  if (!op.empty()) {
    const auto names = gradcheck_op_names();
    LOGLIN_CHECK(std::find(names.begin(), names.end(), op) != names.end(),
                 "[gradcheck] no op named '{}' is registered (see loglin gradcheck --list)", op);
  }
  fmt::print("| op | inputs | dtype | out rel err | grad rel err | pass |\n|---|---|---|---:|---:|---|\n");
  int failed = 0, total = 0;
  for (const GradcheckCase& c : gradcheck_cases()) {
    if ((!op.empty() && c.op != op) || c.options.in_place) continue;
    for (DType dtype : {DType::f64, DType::f32}) {
      const DeviceCheckResult r = check_case_on_device(c, dtype, Device::cuda(), seed);
      ++total;
      failed += r.passed ? 0 : 1;
      fmt::print("| {} | {} | {} | {:.3e} | {:.3e} | {} |\n", c.op, c.label, dtype_name(dtype), r.out_err,
                 r.grad_err, r.passed ? "yes" : "NO");
      if (!r.error.empty()) fmt::print(stderr, "  {}: {}\n", c.op, r.error);
    }
  }
  fmt::print("\n{} passed, {} failed (cuda against the cpu)\n", total - failed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int gradcheck_command(const std::vector<std::string>& args) {
  std::string op;
  uint64_t seed = 0;
  bool on_cuda = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (a == "--list") {
      for (const auto& n : gradcheck_op_names()) fmt::print("{}\n", n);
      return 0;
    } else if (a == "--cuda") {
      on_cuda = true;
    } else if (a == "--seed") {
      LOGLIN_CHECK(i + 1 < args.size(), "[gradcheck] --seed needs a value");
      try {
        seed = std::stoull(args[++i]);
      } catch (const std::exception&) {
        LOGLIN_FAIL("[gradcheck] --seed needs a non-negative integer, got '{}'", args[i]);
      }
    } else if (!a.empty() && a[0] == '-') {
      LOGLIN_FAIL("[gradcheck] unknown option '{}' (see loglin gradcheck --help)", a);
    } else {
      LOGLIN_CHECK(op.empty(), "[gradcheck] only one op name may be given, got '{}' and '{}'", op, a);
      op = a;
    }
  }

  if (on_cuda) return device_table(op, seed);
  auto t0 = std::chrono::steady_clock::now();
  std::vector<GradcheckRow> rows = run_gradcheck(op, seed);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  size_t w_op = 2, w_in = 6;
  for (const auto& r : rows) {
    w_op = std::max(w_op, r.gcase->op.size());
    w_in = std::max(w_in, r.gcase->label.size());
  }
  fmt::print("| {:<{}} | {:<{}} | {:>12} | {:>12} | {:<4} |\n", "op", w_op, "inputs", w_in, "max abs err",
             "max rel err", "pass");
  fmt::print("|{:-<{}}|{:-<{}}|{:->14}|{:->14}|{:-<6}|\n", "", w_op + 2, "", w_in + 2, "", "", "");
  int failed = 0;
  double worst_abs = 0, worst_rel = 0;
  for (const auto& r : rows) {
    const auto& res = r.result;
    fmt::print("| {:<{}} | {:<{}} | {:>12.3e} | {:>12.3e} | {:<4} |\n", r.gcase->op, w_op, r.gcase->label, w_in,
               res.max_abs_err, res.max_rel_err, res.passed ? "yes" : "NO");
    if (!res.passed) {
      ++failed;
      fmt::print(stderr, "  {}: {}\n", r.gcase->op, res.message);
    }
    worst_abs = std::max(worst_abs, res.max_abs_err);
    worst_rel = std::max(worst_rel, res.max_rel_err);
  }
  fmt::print("\n{} cases over {} ops in {:.1f} s; worst abs err {:.3e}, worst rel err {:.3e}\n", rows.size(),
             op.empty() ? gradcheck_op_names().size() : 1, secs, worst_abs, worst_rel);
  fmt::print("{} passed, {} failed\n", rows.size() - failed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace loglin::cli

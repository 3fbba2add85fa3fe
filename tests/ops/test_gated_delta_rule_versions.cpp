// Which CUDA version of the gated delta rule takes which call: the registry's
// rules, checked on the host (no device needed; the list is empty only in a
// build without CUDA, where there is nothing to choose).
#include <string>

#include "catch.h"
#include "ops/gated_delta_rule/kernel_versions.h"
#include "ops/kernel_registry.h"
#include "test_util.h"

using namespace loglin;
using namespace loglin::gdr;

namespace {

const KernelVersion* find(const std::string& name) {
  for (const KernelVersion& v : gated_delta_rule_versions())
    if (name == v.name) return &v;
  return nullptr;
}

GpuProblem problem(int64_t K, int64_t V, bool log_linear = false, int64_t L = 1) {
  GpuProblem p;
  p.H = 4, p.G = 2, p.K = K, p.V = V, p.L = log_linear ? L : 1, p.log_linear = log_linear;
  p.rows = 1000, p.n_seqs = 2, p.max_len = 500;
  return p;
}

KernelCall call(DType dt, bool tf32, bool log_linear = false) {
  KernelCall c;
  c.dtype = dt;
  c.allow_tf32 = tf32;
  c.log_linear = log_linear;
  return c;
}

}  // namespace

TEST_CASE("gated_delta_rule versions: v1 takes every call, v2 the tensor-core shapes under TF32",
          "[ops][gated_delta_rule]") {
  if (gated_delta_rule_versions().empty()) {
    SUCCEED("a build without CUDA registers no version");
    return;
  }
  const KernelVersion* v1 = find("v1");
  const KernelVersion* v2 = find("v2");
  REQUIRE(v1 != nullptr);
  REQUIRE(v2 != nullptr);
  CHECK(v2->rank > v1->rank);
  CHECK(v2->tensor_cores);

  // v1: f32 and f64, any shape, both forms.
  for (DType dt : {DType::f32, DType::f64})
    for (bool ll : {false, true}) CHECK(v1->takes(problem(5, 3, ll, 9), call(dt, false, ll)));

  // v2: f32 with TF32 allowed (precision high, or bf16 inputs), K a multiple of 16, V of 64.
  for (bool ll : {false, true}) {
    INFO((ll ? "log-linear" : "plain"));
    CHECK(v2->takes(problem(64, 128, ll, 12), call(DType::f32, true, ll)));
    CHECK(v2->takes(problem(192, 384, ll, 12), call(DType::f32, true, ll)));
    CHECK(v2->takes(problem(16, 64, ll, 12), call(DType::f32, true, ll)));
    CHECK_FALSE(v2->takes(problem(64, 128, ll, 12), call(DType::f32, false, ll)));  // precision highest
    CHECK_FALSE(v2->takes(problem(64, 128, ll, 12), call(DType::f64, true, ll)));   // no f64 kernels
    CHECK_FALSE(v2->takes(problem(40, 128, ll, 12), call(DType::f32, true, ll)));   // K not a multiple of 16
    CHECK_FALSE(v2->takes(problem(64, 96, ll, 12), call(DType::f32, true, ll)));    // V not a multiple of 64
  }
  CHECK_FALSE(v2->takes(problem(64, 128, true, 65), call(DType::f32, true, true)));  // more than 64 levels

  // Pinned to v2, a call it does not take is a clear error naming the call, never a fall-back.
  KernelVersionScope scope(kVersionsOp, "v2");
  LL_CHECK_ERROR(select_version(problem(40, 128), call(DType::f32, true)), "K = 40");
  CHECK(std::string(select_version(problem(64, 128), call(DType::f32, true)).name) == "v2");
}

TEST_CASE("gated_delta_rule versions: the workspace covers both passes and grows with the problem",
          "[ops][gated_delta_rule]") {
  const KernelVersion* v2 = find("v2");
  if (!v2) {
    SUCCEED("a build without CUDA registers no version");
    return;
  }
  for (bool ll : {false, true}) {
    INFO((ll ? "log-linear" : "plain"));
    const KernelCall c = call(DType::f32, true, ll);
    GpuProblem small = problem(64, 128, ll, 12), large = problem(64, 128, ll, 12);
    large.rows *= 4, large.max_len *= 4;
    for (Pass pass : {Pass::forward, Pass::backward}) {
      CHECK(v2->workspace_bytes(small, c, pass) > 0);
      CHECK(v2->workspace_bytes(large, c, pass) > v2->workspace_bytes(small, c, pass));
    }
  }
}

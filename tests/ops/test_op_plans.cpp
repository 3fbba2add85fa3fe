// The one road through ops with several implementations: the kernel
// registry's choice (set_kernel_version, KernelVersionScope, their errors),
// the float32 matmul precision setting, and the plans the ops make
// (plan_<op>() and LOGLIN_EXPLAIN's printing), on every build.
#include <cstdio>
#include <string>

#include <unistd.h>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

bool has_op(const std::string& op) {
  for (const OpKernelVersions& o : registered_kernel_versions())
    if (o.op == op) return true;
  return false;
}

// What f() printed to stderr.
template <class F>
std::string captured_stderr(F&& f) {
  std::fflush(stderr);
  FILE* tmp = std::tmpfile();
  REQUIRE(tmp != nullptr);
  const int saved = ::dup(::fileno(stderr));
  ::dup2(::fileno(tmp), ::fileno(stderr));
  f();
  std::fflush(stderr);
  ::dup2(saved, ::fileno(stderr));
  ::close(saved);
  std::rewind(tmp);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, tmp)) out.append(buf, n);
  std::fclose(tmp);
  return out;
}

struct LlaInputs {
  Tensor q, k, v, g, ls;
};

LlaInputs lla_inputs(DType dt, int64_t T = 40) {
  Generator gen(7);
  LlaInputs in;
  in.q = randn({1, T, 1, 8}, DType::f32, gen).to(dt);
  in.k = randn({1, T, 1, 8}, DType::f32, gen).to(dt);
  in.v = randn({1, T, 2, 4}, DType::f32, gen).to(dt);
  in.g = rand({1, T, 2}, -1.0, 0.0, DType::f32, gen);
  in.ls = rand({1, T, 2, 7}, 0.0, 1.0, DType::f32, gen).to(dt);
  return in;
}

}  // namespace

TEST_CASE("kernel registry: every op with versions is listed, and the choice is checked", "[ops][plan]") {
  for (const char* op : {"log_linear_attention", "causal_attention", "causal_conv1d", "gated_delta_rule"}) {
    INFO(op);
    CHECK(has_op(op));
    CHECK(kernel_version_choice(op) == "auto");
  }
  LL_CHECK_ERROR(set_kernel_version("no_such_op", "v1"), "log_linear_attention");
  LL_CHECK_ERROR(set_kernel_version("causal_attention", "v999"), "v999");
  for (const OpKernelVersions& o : registered_kernel_versions()) {
    for (const KernelVersionInfo& v : o.versions) {
      INFO(o.op << " " << v.name);
      CHECK(!v.about.empty());
      {
        KernelVersionScope scope(o.op, v.name);
        CHECK(kernel_version_choice(o.op) == v.name);
      }
      CHECK(kernel_version_choice(o.op) == "auto");
    }
  }
  set_kernel_version("causal_conv1d", "auto");
  CHECK(kernel_version_choice("causal_conv1d") == "auto");
  set_kernel_version("causal_conv1d", "");
  CHECK(kernel_version_choice("causal_conv1d") == "auto");
}

TEST_CASE("float32 matmul precision: highest by default, high by setter or guard, bad names refused",
          "[ops][plan]") {
  const Float32MatmulPrecision before = float32_matmul_precision();
  LL_CHECK_ERROR(set_float32_matmul_precision("medium"), "highest");
  CHECK(float32_matmul_precision() == before);
  {
    Float32MatmulPrecisionGuard high("high");
    CHECK(float32_matmul_allows_tf32());
    CHECK(std::string(float32_matmul_precision_name(float32_matmul_precision())) == "high");
    {
      Float32MatmulPrecisionGuard highest(Float32MatmulPrecision::highest);
      CHECK(!float32_matmul_allows_tf32());
    }
    CHECK(float32_matmul_allows_tf32());
  }
  CHECK(float32_matmul_precision() == before);
}

TEST_CASE("plans on the cpu: the implementation, the compute dtype and why", "[ops][plan]") {
  const LlaInputs f = lla_inputs(DType::f32);
  KernelPlan p = plan_log_linear_attention(f.q, f.k, f.v, f.g, f.ls);
  CHECK(p.op == "log_linear_attention");
  CHECK(p.version == "cpu");
  CHECK(p.compute_dtype == DType::f32);
  CHECK(!p.tf32);
  CHECK(loglin_test::contains(p.str(), "q [1, 40, 1, 8]"));

  const LlaInputs b = lla_inputs(DType::bf16);
  p = plan_log_linear_attention(b.q, b.k, b.v, b.g, b.ls);
  CHECK(p.input_dtype == DType::bf16);
  CHECK(p.compute_dtype == DType::f32);
  CHECK(loglin_test::contains(p.reason, "bf16"));
  // Bad input: the plan refuses it as the op does.
  LL_CHECK_ERROR(plan_log_linear_attention(f.q, f.k, f.v, f.g, narrow(f.ls, 3, 0, 2)), "[log_linear_attention]");
  // Precision high changes nothing on the cpu.
  {
    Float32MatmulPrecisionGuard high(Float32MatmulPrecision::high);
    CHECK(!plan_log_linear_attention(f.q, f.k, f.v, f.g, f.ls).tf32);
  }

  p = plan_scalar_decay_attention(f.q, f.k, f.v, f.g);
  CHECK(p.op == "scalar_decay_attention");
  CHECK(p.version == "cpu");
  p = plan_scalar_decay_attention(b.q, b.k, b.v, b.g);
  CHECK(p.input_dtype == DType::bf16);
  CHECK(p.compute_dtype == DType::f32);

  Generator gen(3);
  const Tensor q = randn({1, 2, 5, 8}, DType::f32, gen);
  p = plan_causal_attention(q, q, q, 0.5);
  CHECK(p.op == "causal_attention");
  CHECK(p.version == "cpu");
  p = plan_causal_attention(q.to(DType::bf16), q.to(DType::bf16), q.to(DType::bf16), 0.5);
  CHECK(p.compute_dtype == DType::f32);

  const Tensor x = randn({2, 9, 6}, DType::f32, gen), w = randn({6, 4}, DType::f32, gen);
  p = plan_causal_conv1d(x, w, Tensor());
  CHECK(p.op == "causal_conv1d");
  CHECK(p.version == "cpu");
  LL_CHECK_ERROR(plan_causal_conv1d(x, randn({5, 4}, DType::f32, gen), Tensor()), "[causal_conv1d]");
}

TEST_CASE("LOGLIN_EXPLAIN prints each distinct plan once", "[ops][plan]") {
  const LlaInputs f = lla_inputs(DType::f32, 33);
  set_explain(true);
  const std::string out = captured_stderr([&] {
    for (int i = 0; i < 3; ++i) (void)log_linear_attention(f.q, f.k, f.v, f.g, f.ls);
  });
  set_explain(false);
  const std::string want = "[explain] log_linear_attention: " +
                           plan_log_linear_attention(f.q, f.k, f.v, f.g, f.ls).str();
  INFO("stderr: " << out);
  CHECK(loglin_test::contains(out, want));
  CHECK(out.find(want) == out.rfind(want));  // once, not three times
  const std::string quiet = captured_stderr([&] { (void)log_linear_attention(f.q, f.k, f.v, f.g, f.ls); });
  CHECK(quiet.find("[explain]") == std::string::npos);
}

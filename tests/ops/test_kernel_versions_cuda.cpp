// Every registered CUDA kernel version of every op (ops/kernel_registry.h)
// against the CPU, forward and gradients, pinned through KernelVersionScope.
// An op that registers versions without a runner here fails the test, so a
// new op cannot skip it. (log_linear_attention's full matrix of shapes and
// dtypes is tests/ops/test_log_linear_attention_cuda_matrix.cpp; here each
// of its versions runs one case of each dtype it takes; the gated delta
// rule's matrix is tests/ops/test_gated_delta_rule_cuda.cpp.)
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// The output and the input gradients of sum(fn(inputs) * probe), in f64 on the cpu.
std::vector<Tensor> run(const Fn& fn, const std::vector<Tensor>& inputs64, const std::vector<bool>& differentiable,
                        DType dt, Device dev) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < inputs64.size(); ++i) {
    Tensor t = inputs64[i].to(i < differentiable.size() && differentiable[i] ? dt : inputs64[i].dtype()).to(dev);
    if (i < differentiable.size() && differentiable[i]) t = t.detach().set_requires_grad(true);
    in.push_back(t);
  }
  const Tensor y = fn(in);
  // bf16 is storage only for the elementwise ops: the loss is taken in f32.
  const Tensor yl = y.dtype() == DType::bf16 ? y.to(DType::f32) : y;
  Generator gen(99);
  const Tensor probe = randn(y.shape(), DType::f64, gen).to(yl.dtype()).to(dev);
  sum(yl * probe).backward();
  std::vector<Tensor> out{y.to(Device::cpu()).to(DType::f64)};
  for (size_t i = 0; i < in.size(); ++i)
    if (i < differentiable.size() && differentiable[i]) out.push_back(in[i].grad().to(Device::cpu()).to(DType::f64));
  return out;
}

void check_against_cpu(const Fn& fn, const std::vector<Tensor>& inputs64, const std::vector<bool>& differentiable,
                       DType dt, double tol) {
  const std::vector<Tensor> want = run(fn, inputs64, differentiable, DType::f64, Device::cpu());
  const std::vector<Tensor> got = run(fn, inputs64, differentiable, dt, Device::cuda());
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = loglin_test::rel_err(got[i], want[i]);
    INFO((i == 0 ? std::string("output") : "gradient of input " + std::to_string(i - 1)) << ": rel err " << e);
    CHECK(e < tol);
  }
}

double tol_of(DType dt) { return dt == DType::bf16 ? 3e-2 : dt == DType::f32 ? 1e-4 : 1e-10; }

// One runner per op: runs `version` (already pinned) on cases it takes.
void run_causal_attention(const std::string& version) {
  Generator gen(11);
  const std::vector<DType> dtypes =
      version == "tensor_core" ? std::vector<DType>{DType::bf16} : std::vector<DType>{DType::f32, DType::bf16};
  for (int64_t D : {int64_t{64}, int64_t{40}}) {
    if (version == "tensor_core" && D != 64) continue;
    const std::vector<Tensor> in{randn({2, 2, 70, D}, DType::f64, gen), randn({2, 2, 90, D}, DType::f64, gen),
                                 randn({2, 2, 90, D}, DType::f64, gen)};
    for (DType dt : dtypes) {
      INFO("D " << D << " " << dtype_name(dt));
      check_against_cpu([](const std::vector<Tensor>& x) { return causal_attention(x[0], x[1], x[2], 0.125); }, in,
                        {true, true, true}, dt, tol_of(dt));
    }
  }
}

void run_causal_conv1d(const std::string& version) {
  Generator gen(12);
  for (int64_t W : {int64_t{4}, int64_t{12}}) {
    if (version == "v2" && W > 8) continue;
    INFO("W " << W);
    const std::vector<Tensor> in{randn({2, 50, 24}, DType::f64, gen), randn({24, W}, DType::f64, gen),
                                 randn({24}, DType::f64, gen)};
    for (DType dt : {DType::f32, DType::f64})
      check_against_cpu(
          [](const std::vector<Tensor>& x) { return causal_conv1d(x[0], x[1], x[2], ConvActivation::silu); }, in,
          {true, true, true}, dt, tol_of(dt));
  }
}

void run_log_linear_attention(const std::string& version) {
  Generator gen(13);
  const int64_t T = 200;
  const std::vector<Tensor> in{randn({1, T, 1, 64}, DType::f64, gen) * 0.3, randn({1, T, 1, 64}, DType::f64, gen) * 0.3,
                               randn({1, T, 2, 64}, DType::f64, gen), rand({1, T, 2}, -0.2, 0.0, DType::f64, gen),
                               rand({1, T, 2, 9}, 0.0, 1.0, DType::f64, gen)};
  const Fn fn = [](const std::vector<Tensor>& x) {
    return log_linear_attention(x[0], x[1], x[2], x[3].to(x[0].dtype() == DType::f64 ? DType::f64 : DType::f32), x[4]);
  };
  if (version == "v1") {
    check_against_cpu(fn, in, {true, true, true, false, true}, DType::f32, tol_of(DType::f32));
    check_against_cpu(fn, in, {true, true, true, false, true}, DType::f64, tol_of(DType::f64));
  } else {
    check_against_cpu(fn, in, {true, true, true, false, true}, DType::bf16, tol_of(DType::bf16));
  }
}

void run_gated_delta_rule(const std::string& version) {
  Generator gen(14);
  // v2 runs on tensor cores: TF32 for f32 inputs (precision high), and bf16 inputs through f32.
  const bool tc = version == "v2";
  const int64_t T = 150, K = tc ? 32 : 12, V = tc ? 64 : 20;
  const Tensor k = randn({1, T, 1, K}, DType::f64, gen);
  const std::vector<Tensor> in{randn({1, T, 1, K}, DType::f64, gen) * 0.3, k / sqrt(sum(k * k, {-1}, true)),
                               randn({1, T, 2, V}, DType::f64, gen), rand({1, T, 2}, -0.4, 0.0, DType::f64, gen),
                               rand({1, T, 2}, 0.05, 0.95, DType::f64, gen),
                               rand({1, T, 2, 9}, 0.5, 1.5, DType::f64, gen)};
  // g stays f32 with bf16 inputs (the decays are never bf16).
  const auto gate = [](const std::vector<Tensor>& x) { return x[3].to(x[0].dtype() == DType::f64 ? DType::f64 : DType::f32); };
  const Fn plain = [gate](const std::vector<Tensor>& x) { return gated_delta_rule(x[0], x[1], x[2], gate(x), x[4]); };
  const Fn log_linear = [gate](const std::vector<Tensor>& x) {
    return log_linear_gated_delta_rule(x[0], x[1], x[2], gate(x), x[4], x[5]);
  };
  const std::vector<Tensor> in_plain(in.begin(), in.begin() + 5);
  const Float32MatmulPrecisionGuard precision(tc ? "high" : "highest");
  for (DType dt : tc ? std::vector<DType>{DType::f32, DType::bf16} : std::vector<DType>{DType::f32, DType::f64}) {
    INFO(dtype_name(dt));
    const double tol = tc && dt == DType::f32 ? 5e-3 : tol_of(dt);
    check_against_cpu(plain, in_plain, {true, true, true, true, true}, dt, tol);
    check_against_cpu(log_linear, in, {true, true, true, true, true, true}, dt, tol);
  }
}

const std::map<std::string, std::function<void(const std::string&)>>& runners() {
  static const std::map<std::string, std::function<void(const std::string&)>> m = {
      {"causal_attention", run_causal_attention},
      {"causal_conv1d", run_causal_conv1d},
      {"log_linear_attention", run_log_linear_attention},
      {"gated_delta_rule", run_gated_delta_rule},
  };
  return m;
}

}  // namespace

TEST_CASE("cuda: every registered kernel version of every op matches the cpu", "[cuda][ops][kernel_versions]") {
  LOGLIN_REQUIRE_CUDA();
  for (const OpKernelVersions& op : registered_kernel_versions()) {
    auto runner = runners().find(op.op);
    INFO("op " << op.op);
    REQUIRE(runner != runners().end());  // a new op with versions needs a runner here
    REQUIRE(!op.versions.empty());
    for (const KernelVersionInfo& v : op.versions) {
      INFO("version " << v.name);
      KernelVersionScope scope(op.op, v.name);
      runner->second(v.name);
    }
  }
}

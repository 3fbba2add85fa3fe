// scalar_decay_attention on CUDA against the CPU path at realistic sizes:
// many chunks, T not a multiple of the chunk, G < H, packed sequences, every
// gradient; f64 to rounding, f32 within the long-reduction tolerance.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "catch.h"
#include "ops/precision.h"
#include "core/rng.h"
#include "ops/autocast.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Run {
  Tensor o, dq, dk, dv, dg;
};

Run run(const std::vector<Tensor>& x, DType dt, Device dev, const ScalarDecayOptions& opt, const Tensor& dout) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < x.size(); ++i) {
    const DType d = i == 3 && dt != DType::f64 ? DType::f32 : dt;  // g stays f32 unless f64
    Tensor t = x[i].to(d).to(dev).detach();
    t.set_requires_grad(true);
    in.push_back(t);
  }
  const Tensor o = scalar_decay_attention(in[0], in[1], in[2], in[3], opt);
  o.backward(dout.to(dt).to(dev));
  auto cpu = [](const Tensor& t) { return t.to(Device::cpu()); };
  return {cpu(o), cpu(in[0].grad()), cpu(in[1].grad()), cpu(in[2].grad()), cpu(in[3].grad())};
}

// Fresh random q, k, v, g (in f64) and an output gradient.
std::pair<std::vector<Tensor>, Tensor> problem(uint64_t seed, int64_t B, int64_t T, int64_t G, int64_t H, int64_t K,
                                               int64_t V) {
  Generator gen(seed);
  std::vector<Tensor> x{randn({B, T, G, K}, DType::f64, gen), randn({B, T, G, K}, DType::f64, gen),
                        randn({B, T, H, V}, DType::f64, gen), rand({B, T, H}, -0.02, 0.0, DType::f64, gen)};
  Tensor dout = randn({B, T, H, V}, DType::f64, gen);
  return {std::move(x), std::move(dout)};
}

void compare(uint64_t seed, int64_t B, int64_t T, int64_t G, int64_t H, int64_t K, int64_t V,
             const ScalarDecayOptions& opt) {
  const auto [x, dout] = problem(seed, B, T, G, H, K, V);
  for (DType dt : {DType::f64, DType::f32}) {
    INFO("dtype " << dtype_name(dt));
    const double tol = dt == DType::f64 ? 1e-10 : 1e-4;
    const Run gpu = run(x, dt, Device::cuda(), opt, dout);
    const Run cpu = run(x, dt, Device::cpu(), opt, dout);
    CHECK(rel_err(gpu.o, cpu.o) < tol);
    CHECK(rel_err(gpu.dq, cpu.dq) < tol);
    CHECK(rel_err(gpu.dk, cpu.dk) < tol);
    CHECK(rel_err(gpu.dv, cpu.dv) < tol);
    CHECK(lla_test::dg_err(gpu.dg, cpu.dg, cpu.dv) < tol);
  }
}

}  // namespace

TEST_CASE("scalar_decay_attention cuda: B2 H4 G2 T1000 K=V=64 matches the cpu", "[cuda][scalar_decay]") {
  LOGLIN_REQUIRE_CUDA();
  compare(1, 2, 1000, 2, 4, 64, 64, ScalarDecayOptions().chunk_size(64));
  compare(2, 2, 1000, 2, 4, 64, 64, ScalarDecayOptions().chunk_size(16));
}

TEST_CASE("scalar_decay_attention cuda: odd sizes and T = 1", "[cuda][scalar_decay]") {
  LOGLIN_REQUIRE_CUDA();
  compare(3, 3, 333, 1, 3, 40, 24, ScalarDecayOptions().chunk_size(32));
  compare(4, 1, 1, 2, 2, 8, 8, ScalarDecayOptions());
  compare(5, 1, 129, 4, 4, 300, 20, ScalarDecayOptions().chunk_size(128));
}

TEST_CASE("scalar_decay_attention cuda: cu_seqlens with three sequences", "[cuda][scalar_decay]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<int64_t> cu{0, 137, 600, 1000};
  compare(6, 1, 1000, 2, 4, 64, 64, ScalarDecayOptions().chunk_size(64).cu_seqlens(Tensor::from_vector(cu, {4})));
}

namespace {

// Under bf16 autocast, f32 inputs against the f32 CPU path; returns o's
// relative error (bf16 rounding when the tensor cores took the call).
double compare_autocast(uint64_t seed, int64_t B, int64_t T, int64_t G, int64_t H, int64_t K, int64_t V,
                        const ScalarDecayOptions& opt) {
  const auto [x, dout] = problem(seed, B, T, G, H, K, V);
  const Run cpu = run(x, DType::f32, Device::cpu(), opt, dout);
  Run gpu;
  {
    AutocastGuard autocast(DType::bf16);
    gpu = run(x, DType::f32, Device::cuda(), opt, dout);
  }
  CHECK(gpu.o.dtype() == DType::f32);
  const double err = rel_err(gpu.o, cpu.o);
  CHECK(err < 2e-2);
  CHECK(rel_err(gpu.dq, cpu.dq) < 3e-2);
  CHECK(rel_err(gpu.dk, cpu.dk) < 3e-2);
  CHECK(rel_err(gpu.dv, cpu.dv) < 3e-2);
  CHECK(lla_test::dg_err(gpu.dg, cpu.dg, cpu.dv) < 5e-2);
  return err;
}

}  // namespace

TEST_CASE("scalar_decay_attention cuda: under bf16 autocast the tensor-core road matches the cpu",
          "[cuda][scalar_decay]") {
  LOGLIN_REQUIRE_CUDA();
  // K = V = 64 and 128 take log-linear attention's bf16 kernels with every
  // level scale 1: o carries bf16 rounding (well above f32's 1e-6).
  CHECK(compare_autocast(7, 2, 1000, 1, 4, 128, 64, ScalarDecayOptions()) > 1e-5);
  CHECK(compare_autocast(8, 2, 777, 2, 4, 64, 64, ScalarDecayOptions()) > 1e-5);
  const std::vector<int64_t> cu{0, 137, 600, 1000};
  CHECK(compare_autocast(9, 1, 1000, 2, 4, 64, 64, ScalarDecayOptions().cu_seqlens(Tensor::from_vector(cu, {4}))) >
        1e-5);
  // K = 40 and chunk 32 have no tensor-core kernel: the f32 SIMT scan runs, to f32 accuracy.
  CHECK(compare_autocast(10, 2, 333, 1, 3, 40, 24, ScalarDecayOptions()) < 1e-4);
  CHECK(compare_autocast(11, 2, 333, 1, 2, 64, 64, ScalarDecayOptions().chunk_size(32)) < 1e-4);
}

TEST_CASE("scalar_decay_attention cuda: under precision high f32 runs the TF32 tensor cores", "[cuda][scalar_decay]") {
  LOGLIN_REQUIRE_CUDA();
  // f32 inputs, no autocast, float32 matmul precision "high": K, V
  // in {32, 64, 128} take log-linear attention's TF32 kernels (o carries
  // TF32 rounding, well above f32's 1e-6, well below bf16's); K = 40 keeps
  // the f32 SIMT scan.
  Float32MatmulPrecisionGuard allow(Float32MatmulPrecision::high);
  auto err = [](uint64_t seed, int64_t K, int64_t V) {
    const auto [x, dout] = problem(seed, 2, 700, 1, 4, K, V);
    const Run cpu = run(x, DType::f32, Device::cpu(), ScalarDecayOptions(), dout);
    const Run gpu = run(x, DType::f32, Device::cuda(), ScalarDecayOptions(), dout);
    CHECK(rel_err(gpu.dq, cpu.dq) < 1e-2);
    CHECK(rel_err(gpu.dk, cpu.dk) < 1e-2);
    CHECK(rel_err(gpu.dv, cpu.dv) < 1e-2);
    CHECK(lla_test::dg_err(gpu.dg, cpu.dg, cpu.dv) < 2e-2);
    return rel_err(gpu.o, cpu.o);
  };
  const double tc = err(12, 128, 64), simt = err(13, 40, 24);
  INFO("o rel err: TF32 kernels " << tc << ", SIMT scan " << simt);
  CHECK(tc > 1e-5);
  CHECK(tc < 1e-2);
  CHECK(simt < 1e-4);
}

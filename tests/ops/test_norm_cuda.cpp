// rms_norm, rms_norm_gated and layer_norm on CUDA against the CPU path at
// training sizes and awkward ones (rows longer than a block, rows shorter
// than a warp, a strided z), forward and every gradient, plus run-to-run
// determinism of the parameter gradients.
#include <functional>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

struct Run {
  Tensor y;                   // on the cpu
  std::vector<Tensor> grads;  // on the cpu; undefined for undefined inputs
};

// fn on copies of `inputs` placed on `device`, then backward with output
// gradient gy.
Run run_on(const Fn& fn, const std::vector<Tensor>& inputs, const Tensor& gy, Device device) {
  std::vector<Tensor> xs;
  for (const Tensor& t : inputs) {
    Tensor x;
    if (t.defined()) {
      x = t.to(device).detach();
      x.set_requires_grad(true);
    }
    xs.push_back(x);
  }
  Run r;
  Tensor y = fn(xs);
  y.backward(gy.to(device));
  r.y = y.to(Device::cpu());
  for (const Tensor& x : xs) {
    Tensor g = x.defined() ? x.grad() : Tensor();
    r.grads.push_back(g.defined() ? g.to(Device::cpu()) : Tensor());
  }
  return r;
}

// f32 outputs and the gradients of the first `rowwise` inputs (dx, and dz
// for the gated norm) within DESIGN.md's plain-op tolerance; dweight and
// dbias sum over every row, so they get the long-reduction one.
void compare(const Fn& fn, const std::vector<Tensor>& inputs, DType dt, uint64_t seed, size_t rowwise = 1) {
  Generator gen(seed);
  Tensor gy = randn(inputs[0].shape(), dt, gen);  // norms keep x's shape
  Run cpu = run_on(fn, inputs, gy, Device::cpu());
  Run gpu = run_on(fn, inputs, gy, Device::cuda());
  const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
  const double param_tol = dt == DType::f64 ? 1e-10 : 1e-4;
  CHECK(rel_err(gpu.y, cpu.y) <= tol);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) continue;
    INFO("gradient of input " << i);
    REQUIRE(gpu.grads[i].defined());
    // Rows of a few elements: dx is a small difference of row sums, so f32
    // rounding shows; long rows are held to the tight tolerance.
    const bool short_rows = inputs[0].shape().back() < 16;
    CHECK(rel_err(gpu.grads[i], cpu.grads[i]) <= (i < rowwise && !short_rows ? tol : param_tol));
  }
}

// No D below 3: there the true dx of layer_norm is 0 (and rms_norm's with
// D = 1 nearly so), and f32 rounding noise would be all that is compared.
// f32 rows of D % 4 == 0 up to 2048 take the warp-per-row kernels
// (rms_norm_warp_rows.cuh; 768, 1000, 2048, 100), the rest the block-per-row ones.
std::vector<Shape> shapes() {
  return {{16384, 768}, {37, 1000}, {64, 2048}, {5, 2052}, {17, 100}, {3, 16385}, {2, 5, 7}, {9, 3}, {1, 31}};
}

Fn rms_fn() {
  return [](const std::vector<Tensor>& x) { return rms_norm(x[0], x[1], 1e-5); };
}
Fn ln_fn() {
  return [](const std::vector<Tensor>& x) { return layer_norm(x[0], x[1], x[2], 1e-5); };
}
// x[1] is z itself, or (strided) a tensor 13 wider in the last dim whose
// slice [..., 5:5 + D] is z, read in place with a row stride of D + 13.
// z_start < 0: z is x[1] itself; else z is x[1] narrowed to D columns from
// z_start (a row stride wider than D; start 4 of a row of D + 16 keeps the
// rows 16-byte aligned for the warp-per-row kernels, start 5 does not).
Fn gated_fn(int64_t z_start) {
  return [z_start](const std::vector<Tensor>& x) {
    const int64_t D = x[0].shape().back();
    return rms_norm_gated(x[0], z_start >= 0 ? x[1].narrow(-1, z_start, D) : x[1], x[2], 1e-5);
  };
}

}  // namespace

TEST_CASE("cuda rms_norm matches the cpu, forward and gradients", "[cuda][ops][rms_norm]") {
  LOGLIN_REQUIRE_CUDA();
  uint64_t seed = 100;
  for (const Shape& s : shapes())
    for (DType dt : {DType::f32, DType::f64}) {
      if (dt == DType::f64 && s[0] == 16384) continue;  // f64 is for rounding-level agreement; small sizes do
      for (bool with_weight : {true, false}) {
        INFO(shape_str(s) << " " << dtype_name(dt) << (with_weight ? " with weight" : " no weight"));
        Generator gen(++seed);
        Tensor x = add(mul(randn(s, dt, gen), 2.0), 0.5);
        Tensor w = with_weight ? add(randn({s.back()}, dt, gen), 1.0) : Tensor();
        compare(rms_fn(), {x, w}, dt, ++seed);
      }
    }
}

TEST_CASE("cuda layer_norm matches the cpu, forward and gradients", "[cuda][ops][layer_norm]") {
  LOGLIN_REQUIRE_CUDA();
  uint64_t seed = 200;
  for (const Shape& s : shapes())
    for (DType dt : {DType::f32, DType::f64}) {
      if (dt == DType::f64 && s[0] == 16384) continue;
      for (int params = 0; params < 4; ++params) {
        const bool with_weight = params & 1, with_bias = params & 2;
        INFO(shape_str(s) << " " << dtype_name(dt) << " weight " << with_weight << " bias " << with_bias);
        Generator gen(++seed);
        // A mean far from zero relative to the spread checks the two-pass variance.
        Tensor x = add(mul(randn(s, dt, gen), 0.5), 3.0);
        Tensor w = with_weight ? add(randn({s.back()}, dt, gen), 1.0) : Tensor();
        Tensor b = with_bias ? randn({s.back()}, dt, gen) : Tensor();
        compare(ln_fn(), {x, w, b}, dt, ++seed);
      }
    }
}

TEST_CASE("cuda rms_norm_gated matches the cpu, forward and gradients", "[cuda][ops][rms_norm_gated]") {
  LOGLIN_REQUIRE_CUDA();
  // Mamba-2's size (4096 rows of d_inner 1536), D not a multiple of 4 or 32,
  // rows longer than a block, and rows shorter than a warp.
  std::vector<Shape> gated_shapes = shapes();
  gated_shapes.insert(gated_shapes.begin(), {{4096, 1536}, {2, 64, 37}, {300, 1003}});
  uint64_t seed = 300;
  for (const Shape& s : gated_shapes)
    for (DType dt : {DType::f32, DType::f64}) {
      if (dt == DType::f64 && s[0] == 16384) continue;
      for (bool with_weight : {true, false})
        for (int64_t z_start : {-1, 5, 4}) {
          INFO(shape_str(s) << " " << dtype_name(dt) << (with_weight ? " with weight" : " no weight")
                            << (z_start >= 0 ? ", z a strided slice from " : ", z contiguous") << z_start);
          Generator gen(++seed);
          Shape zs = s;
          if (z_start >= 0) zs.back() += z_start == 4 ? 16 : 13;
          Tensor x = add(mul(randn(s, dt, gen), 2.0), 0.5);
          Tensor z = mul(randn(zs, dt, gen), 2.0);
          Tensor w = with_weight ? add(randn({s.back()}, dt, gen), 1.0) : Tensor();
          compare(gated_fn(z_start), {x, z, w}, dt, ++seed, 2);
        }
    }
}

TEST_CASE("cuda rms_norm_gated weight gradient is the same bits every run", "[cuda][ops][rms_norm_gated]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(9);
  Tensor x = randn({4099, 1536}, DType::f32, gen), z = randn({4099, 1549}, DType::f32, gen);
  Tensor w = randn({1536}, DType::f32, gen), gy = randn({4099, 1536}, DType::f32, gen);
  for (int64_t z_start : {5, 0}) {  // the block-per-row and the warp-per-row kernels
    Tensor zz = z_start == 0 ? z.narrow(-1, 0, 1540) : z;
    Run a = run_on(gated_fn(z_start), {x, zz, w}, gy, Device::cuda());
    Run c = run_on(gated_fn(z_start), {x, zz, w}, gy, Device::cuda());
    for (size_t i = 0; i < 3; ++i) CHECK(a.grads[i].to_vector<float>() == c.grads[i].to_vector<float>());
  }
}

TEST_CASE("cuda norm parameter gradients are the same bits every run", "[cuda][ops][rms_norm][layer_norm]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(7);
  const Shape s{4099, 768};
  Tensor x = randn(s, DType::f32, gen), w = randn({768}, DType::f32, gen), b = randn({768}, DType::f32, gen);
  Tensor gy = randn(s, DType::f32, gen);
  for (const Fn& fn : {rms_fn(), ln_fn()}) {
    std::vector<Tensor> in{x, w, b};
    Run a = run_on(fn, in, gy, Device::cuda());
    Run c = run_on(fn, in, gy, Device::cuda());
    CHECK(a.grads[1].to_vector<float>() == c.grads[1].to_vector<float>());
    CHECK(a.grads[0].to_vector<float>() == c.grads[0].to_vector<float>());
  }
  Run a = run_on(ln_fn(), {x, w, b}, gy, Device::cuda());
  Run c = run_on(ln_fn(), {x, w, b}, gy, Device::cuda());
  CHECK(a.grads[2].to_vector<float>() == c.grads[2].to_vector<float>());
}

TEST_CASE("cuda norms keep tensors on the device", "[cuda][ops][rms_norm][rms_norm_gated][layer_norm]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(8);
  Tensor x = randn({6, 10}, DType::f32, gen).to(Device::cuda());
  Tensor w = randn({10}, DType::f32, gen).to(Device::cuda());
  CHECK(rms_norm(x, w).device().is_cuda());
  CHECK(layer_norm(x, w, Tensor()).device().is_cuda());
  LL_CHECK_ERROR(rms_norm(x, w.to(Device::cpu())), "[rms_norm]");
  LL_CHECK_ERROR(layer_norm(x, Tensor(), w.to(Device::cpu())), "[layer_norm]");
  Tensor z = randn({6, 10}, DType::f32, gen).to(Device::cuda());
  CHECK(rms_norm_gated(x, z, w).device().is_cuda());
  LL_CHECK_ERROR(rms_norm_gated(x, z.to(Device::cpu()), w), "[rms_norm_gated]");
  LL_CHECK_ERROR(rms_norm_gated(x, z, w.to(Device::cpu())), "[rms_norm_gated]");
}

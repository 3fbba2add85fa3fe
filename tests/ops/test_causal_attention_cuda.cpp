// causal_attention on CUDA against the CPU path at realistic sizes: many
// query and key tiles, T not a multiple of any tile, S > T (KV cache), one
// decode step; f32 and f64 (SIMT kernels) tight, bf16 inputs and bf16
// autocast (tensor-core forward and backward for D = 64 and 128) loose.
#include <cmath>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"
#include "ops/autocast.h"
#include "ops/kernel_registry.h"
#if LOGLIN_WITH_CUDA
#include "ops/attention/causal_attention_cuda.h"
#endif

using namespace loglin;
using loglin_test::rel_err;

namespace {

Tensor leaf_on(const Tensor& x, Device device, DType dtype) {
  Tensor t = x.to(dtype).to(device).detach();
  t.set_requires_grad(true);
  return t;
}

struct Result {
  Tensor y, dq, dk, dv;  // on the cpu, in f64
};

// y = causal_attention(q, k, v) and the gradients of sum(y * w), computed in
// `dtype` on `device` from the same f64 inputs.
Result run(const std::vector<Tensor>& in, Device device, DType dtype, double scale) {
  Tensor q = leaf_on(in[0], device, dtype), k = leaf_on(in[1], device, dtype), v = leaf_on(in[2], device, dtype);
  Tensor y = causal_attention(q, k, v, scale);
  Tensor y32 = y.dtype() == DType::bf16 ? y.to(DType::f32) : y;  // the loss in f32 or f64
  sum(y32 * in[3].to(y32.dtype()).to(device)).backward();
  auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
  return {host(y), host(q.grad()), host(k.grad()), host(v.grad())};
}

std::vector<Tensor> inputs(int64_t B, int64_t H, int64_t T, int64_t S, int64_t D, uint64_t seed) {
  Generator gen(seed);
  return {randn({B, H, T, D}, DType::f64, gen), randn({B, H, S, D}, DType::f64, gen),
          randn({B, H, S, D}, DType::f64, gen), randn({B, H, T, D}, DType::f64, gen)};
}

void check_close(const Result& a, const Result& b, double out_tol, double grad_tol) {
  const double ey = rel_err(a.y, b.y), eq = rel_err(a.dq, b.dq), ek = rel_err(a.dk, b.dk), ev = rel_err(a.dv, b.dv);
  INFO("rel err: y " << ey << " dq " << eq << " dk " << ek << " dv " << ev);
  CHECK(ey < out_tol);
  CHECK(eq < grad_tol);
  CHECK(ek < grad_tol);
  CHECK(ev < grad_tol);
}

void check_vs_cpu(int64_t B, int64_t H, int64_t T, int64_t S, int64_t D, DType dtype, double out_tol,
                  double grad_tol, uint64_t seed) {
  INFO("B " << B << " H " << H << " T " << T << " S " << S << " D " << D << " " << dtype_name(dtype));
  const auto in = inputs(B, H, T, S, D, seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  check_close(run(in, Device::cuda(), dtype, scale), run(in, Device::cpu(), dtype, scale), out_tol, grad_tol);
}

// bf16 inputs against the CPU in f32 on the same bf16-rounded values.
void check_bf16_vs_cpu(int64_t B, int64_t H, int64_t T, int64_t S, int64_t D, uint64_t seed) {
  INFO("bf16 B " << B << " H " << H << " T " << T << " S " << S << " D " << D);
  auto in = inputs(B, H, T, S, D, seed);
  for (int i = 0; i < 3; ++i) in[i] = in[i].to(DType::bf16).to(DType::f64);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  check_close(run(in, Device::cuda(), DType::bf16, scale), run(in, Device::cpu(), DType::f32, scale), 2e-2, 2e-2);
}

// f32 inputs under bf16 autocast (bf16 tensor cores inside) against the CPU
// in f32: the output and every gradient come back in f32.
void check_autocast_vs_cpu(int64_t B, int64_t H, int64_t T, int64_t S, int64_t D, uint64_t seed) {
  INFO("autocast B " << B << " H " << H << " T " << T << " S " << S << " D " << D);
  const auto in = inputs(B, H, T, S, D, seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const Result cpu = run(in, Device::cpu(), DType::f32, scale);
  Result mixed;
  {
    AutocastGuard guard(DType::bf16);
    Tensor q = leaf_on(in[0], Device::cuda(), DType::f32), k = leaf_on(in[1], Device::cuda(), DType::f32),
           v = leaf_on(in[2], Device::cuda(), DType::f32);
    Tensor y = causal_attention(q, k, v, scale);
    CHECK(y.dtype() == DType::f32);
    sum(y * in[3].to(DType::f32).to(Device::cuda())).backward();
    CHECK(q.grad().dtype() == DType::f32);
    CHECK(k.grad().dtype() == DType::f32);
    CHECK(v.grad().dtype() == DType::f32);
    auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
    mixed = {host(y), host(q.grad()), host(k.grad()), host(v.grad())};
  }
  check_close(mixed, cpu, 2e-2, 2e-2);
}

#if LOGLIN_WITH_CUDA
// Runs bf16 on the SIMT kernels while alive (the kernel registry's choice).
struct SimtBackward {
  KernelVersionScope scope{"causal_attention", "simt"};
};
#endif

// ---- strided inputs and the [B, T, H, D] output layout ----

// How q, k, v reach the op (all [B, H, rows, D] views of leaves):
//   model:      q, k contiguous; v a slice of a permuted [B, S, 3, H, D]
//               projection, as in CausalSelfAttention.
//   transposed: q a transposed [B, T, H, D] tensor; k, v slices of a
//               permuted [B, S, 2, H, D] tensor.
//   awkward:    q with a strided last dim (copied); v rows of a [B, S,
//               3 H D + 4] buffer from element 1 on: in place for the SIMT
//               kernels, not 16-byte aligned for the tensor-core ones (copied).
enum class Layout { model, transposed, awkward };

const char* layout_name(Layout l) {
  return l == Layout::model ? "model" : (l == Layout::transposed ? "transposed" : "awkward");
}

Tensor to_bthd(const Tensor& x) { return x.permute({0, 2, 1, 3}).contiguous(); }  // [B, H, R, D] -> [B, R, H, D]

// The leaves holding q, k, v (from in[0..2], f64 [B, H, rows, D]) laid out
// as `layout`, in `dtype` on `device`.
std::vector<Tensor> strided_leaves(const std::vector<Tensor>& in, Layout layout, Device device, DType dtype) {
  const Tensor &q0 = in[0], &k0 = in[1], &v0 = in[2];
  const int64_t B = k0.size(0), H = k0.size(1), S = k0.size(2), D = k0.size(3);
  switch (layout) {
    case Layout::model:
      return {leaf_on(q0, device, dtype), leaf_on(k0, device, dtype),
              leaf_on(stack({to_bthd(k0), to_bthd(k0), to_bthd(v0)}, 2), device, dtype)};
    case Layout::transposed:
      return {leaf_on(to_bthd(q0), device, dtype), leaf_on(stack({to_bthd(k0), to_bthd(v0)}, 2), device, dtype)};
    case Layout::awkward: {
      const Tensor vrows = to_bthd(v0).reshape({B, S, H * D});
      const Tensor padded =
          cat({Tensor::zeros({B, S, 1}, DType::f64), vrows, Tensor::zeros({B, S, 2 * H * D + 3}, DType::f64)}, 2);
      return {leaf_on(q0.transpose(2, 3).contiguous(), device, dtype), leaf_on(k0, device, dtype),
              leaf_on(padded, device, dtype)};
    }
  }
  return {};
}

// q, k, v as views of the leaves (or of anything shaped like them, such as
// their gradients).
std::vector<Tensor> strided_views(const std::vector<Tensor>& t, Layout layout, int64_t H, int64_t D) {
  auto slot = [](const Tensor& packed, int64_t i) { return packed.permute({2, 0, 3, 1, 4}).select(0, i); };
  switch (layout) {
    case Layout::model: return {t[0], t[1], slot(t[2], 2)};
    case Layout::transposed: return {t[0].transpose(1, 2), slot(t[1], 0), slot(t[1], 1)};
    case Layout::awkward: {
      const int64_t B = t[2].size(0), S = t[2].size(1);
      return {t[0].transpose(2, 3), t[1], t[2].narrow(2, 1, H * D).view({B, S, H, D}).permute({0, 2, 1, 3})};
    }
  }
  return {};
}

// run() on strided views of q, k, v, with the loss taken as the model does:
// through y.permute({0, 2, 1, 3}).reshape({B, T, H * D}), so dO arrives as a
// permuted view. out_bthd asks for the [B, T, H, D] output layout, whose
// strides are checked.
Result run_strided(const std::vector<Tensor>& in, Layout layout, bool out_bthd, Device device, DType dtype,
                   double scale) {
  const int64_t B = in[0].size(0), H = in[0].size(1), T = in[0].size(2), D = in[0].size(3);
  std::vector<Tensor> leaves = strided_leaves(in, layout, device, dtype);
  const std::vector<Tensor> qkv = strided_views(leaves, layout, H, D);
  if (layout != Layout::model && T > 1 && H > 1) CHECK_FALSE(qkv[0].is_contiguous());
  CHECK_FALSE(qkv[2].is_contiguous());
  Tensor y = out_bthd ? causal_attention_bthd(qkv[0], qkv[1], qkv[2], scale)
                      : causal_attention(qkv[0], qkv[1], qkv[2], scale);
  CHECK(y.shape() == Shape{B, H, T, D});
  CHECK(y.dtype() == dtype);
  if (out_bthd) CHECK(y.strides() == Shape{T * H * D, D, H * D, 1});
  else CHECK(y.is_contiguous());
  Tensor flat = y.permute({0, 2, 1, 3}).reshape({B, T, H * D});
  if (out_bthd) CHECK(flat.shares_storage_with(y));  // a free view
  if (flat.dtype() == DType::bf16) flat = flat.to(DType::f32);  // the loss in f32
  const Tensor w = to_bthd(in[3]).reshape({B, T, H * D}).to(flat.dtype()).to(device);
  sum(flat * w).backward();
  std::vector<Tensor> grads;
  for (const Tensor& l : leaves) grads.push_back(l.grad());
  const std::vector<Tensor> g = strided_views(grads, layout, H, D);
  auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
  return {host(y), host(g[0]), host(g[1]), host(g[2])};
}

// CUDA on strided views against the CPU on contiguous tensors. bf16 rounds
// the inputs first and compares with the CPU in f32.
void check_strided_vs_cpu(int64_t B, int64_t H, int64_t T, int64_t S, int64_t D, DType dtype, Layout layout,
                          bool out_bthd, uint64_t seed) {
  INFO(layout_name(layout) << (out_bthd ? " bthd out" : "") << " B " << B << " H " << H << " T " << T << " S " << S
                           << " D " << D << " " << dtype_name(dtype));
  auto in = inputs(B, H, T, S, D, seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  const bool bf = dtype == DType::bf16;
  if (bf)
    for (int i = 0; i < 3; ++i) in[i] = in[i].to(DType::bf16).to(DType::f64);
  const Result cpu = run(in, Device::cpu(), bf ? DType::f32 : dtype, scale);
  const Result gpu = run_strided(in, layout, out_bthd, Device::cuda(), dtype, scale);
  const double out_tol = bf ? 2e-2 : (dtype == DType::f64 ? 1e-10 : 2e-5);
  const double grad_tol = bf ? 2e-2 : (dtype == DType::f64 ? 1e-10 : 1e-4);
  check_close(gpu, cpu, out_tol, grad_tol);
}

}  // namespace

TEST_CASE("cuda causal_attention f32 matches the cpu at training sizes", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  check_vs_cpu(2, 4, 1000, 1000, 64, DType::f32, 2e-5, 1e-4, 1);
  check_vs_cpu(2, 4, 257, 300, 64, DType::f32, 2e-5, 1e-4, 2);
  check_vs_cpu(1, 3, 333, 333, 128, DType::f32, 2e-5, 1e-4, 3);
  check_vs_cpu(2, 2, 95, 95, 7, DType::f32, 2e-5, 1e-4, 4);  // D below a warp, rows not a multiple of a tile
}

TEST_CASE("cuda causal_attention f32 decode and prefill against a long cache", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  check_vs_cpu(2, 4, 1, 777, 64, DType::f32, 2e-5, 1e-4, 5);
  check_vs_cpu(1, 2, 31, 1025, 48, DType::f32, 2e-5, 1e-4, 6);
}

TEST_CASE("cuda causal_attention f64 matches the cpu to rounding", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  check_vs_cpu(1, 2, 200, 233, 40, DType::f64, 1e-10, 1e-10, 7);
  check_vs_cpu(2, 1, 129, 129, 128, DType::f64, 1e-10, 1e-10, 8);
  check_vs_cpu(1, 1, 1, 65, 3, DType::f64, 1e-10, 1e-10, 9);
}

TEST_CASE("cuda causal_attention bf16 inputs (tensor-core forward and backward) stay close to f32",
          "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  check_bf16_vs_cpu(2, 4, 1000, 1000, 64, 10);
  check_bf16_vs_cpu(2, 4, 257, 300, 64, 11);
  check_bf16_vs_cpu(1, 2, 300, 300, 128, 12);
  check_bf16_vs_cpu(1, 2, 1, 500, 128, 13);
  check_bf16_vs_cpu(1, 2, 150, 170, 40, 14);  // no tensor-core kernel for D = 40: SIMT in bf16 storage
  check_bf16_vs_cpu(2, 3, 130, 200, 128, 16);  // S > T, neither a multiple of a tile
  check_bf16_vs_cpu(2, 2, 1, 777, 64, 17);     // one decode step against a long cache
  check_bf16_vs_cpu(1, 3, 64, 64, 64, 18);     // exactly one tile
  check_bf16_vs_cpu(3, 1, 17, 17, 128, 19);    // less than a tile: idle warps
  check_bf16_vs_cpu(1, 2, 65, 129, 64, 20);    // one row past a tile, S > T by a tile
}

TEST_CASE("cuda causal_attention under bf16 autocast returns f32 close to f32", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  check_autocast_vs_cpu(2, 4, 300, 300, 64, 15);
  check_autocast_vs_cpu(1, 2, 200, 333, 128, 21);
  check_autocast_vs_cpu(2, 2, 1, 300, 64, 22);
  check_autocast_vs_cpu(1, 2, 1, 129, 128, 23);
}

TEST_CASE("cuda causal_attention bf16 tensor-core version agrees with the SIMT one and repeats exactly",
          "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
#if LOGLIN_WITH_CUDA
  REQUIRE(kernel_version_choice("causal_attention") == "auto");
  struct Case {
    int64_t B, H, T, S, D;
  };
  for (const Case c : {Case{2, 3, 300, 300, 64}, Case{1, 2, 190, 250, 128}, Case{2, 2, 1, 100, 64}}) {
    INFO("B " << c.B << " H " << c.H << " T " << c.T << " S " << c.S << " D " << c.D);
    auto in = inputs(c.B, c.H, c.T, c.S, c.D, 30 + static_cast<uint64_t>(c.D + c.T));
    const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
    const Result tc = run(in, Device::cuda(), DType::bf16, scale);
    Result simt;
    {
      SimtBackward simt_guard;
      simt = run(in, Device::cuda(), DType::bf16, scale);
    }
    CHECK(kernel_version_choice("causal_attention") == "auto");
    // Two bf16 forwards (each output rounded to bf16) and two backwards.
    check_close(tc, simt, 2e-2, 2e-2);
    // One owner per gradient row, no atomics: a second run is bit-identical.
    const Result again = run(in, Device::cuda(), DType::bf16, scale);
    CHECK(loglin_test::max_abs_diff(tc.dq.to_vector<double>(), again.dq.to_vector<double>()) == 0);
    CHECK(loglin_test::max_abs_diff(tc.dk.to_vector<double>(), again.dk.to_vector<double>()) == 0);
    CHECK(loglin_test::max_abs_diff(tc.dv.to_vector<double>(), again.dv.to_vector<double>()) == 0);
  }
#endif
}

TEST_CASE("cuda causal_attention needs its inputs on one device", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor q = Tensor::zeros({1, 1, 4, 8}, DType::f32, Device::cuda()), k = Tensor::zeros({1, 1, 4, 8});
  LL_CHECK_ERROR(causal_attention(q, k, k, 1.0), "[causal_attention]");
}

TEST_CASE("cuda causal_attention reads strided q, k, v and dO in place (f32, f64)", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  for (const Layout l : {Layout::model, Layout::transposed, Layout::awkward}) {
    check_strided_vs_cpu(2, 3, 257, 257, 64, DType::f32, l, false, 40);
    check_strided_vs_cpu(1, 2, 95, 160, 40, DType::f32, l, false, 41);  // S > T, D not a power of two
    check_strided_vs_cpu(2, 2, 1, 100, 64, DType::f32, l, false, 42);   // one decode step
    check_strided_vs_cpu(1, 2, 130, 150, 32, DType::f64, l, false, 43);
    check_strided_vs_cpu(2, 1, 65, 65, 128, DType::f64, l, false, 44);
  }
}

TEST_CASE("cuda causal_attention reads strided bf16 q, k, v and dO in place (tensor cores)",
          "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  for (const Layout l : {Layout::model, Layout::transposed, Layout::awkward}) {
    check_strided_vs_cpu(2, 3, 300, 300, 64, DType::bf16, l, false, 50);
    check_strided_vs_cpu(1, 2, 130, 200, 128, DType::bf16, l, false, 51);  // S > T, neither a multiple of a tile
    check_strided_vs_cpu(2, 2, 1, 129, 64, DType::bf16, l, false, 52);     // one decode step
    check_strided_vs_cpu(1, 3, 17, 17, 128, DType::bf16, l, false, 53);    // less than a tile
    check_strided_vs_cpu(1, 2, 150, 170, 40, DType::bf16, l, false, 54);   // SIMT in bf16 storage
  }
#if LOGLIN_WITH_CUDA
  SimtBackward simt_guard;  // bf16 on the SIMT version
  check_strided_vs_cpu(2, 2, 200, 230, 64, DType::bf16, Layout::model, true, 55);
  check_strided_vs_cpu(1, 2, 100, 100, 128, DType::bf16, Layout::transposed, false, 56);
#endif
}

TEST_CASE("cuda causal_attention_bthd returns [B, T, H, D] memory with the same values and gradients",
          "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  for (const Layout l : {Layout::model, Layout::transposed, Layout::awkward}) {
    check_strided_vs_cpu(2, 3, 200, 200, 64, DType::f32, l, true, 60);
    check_strided_vs_cpu(1, 2, 70, 90, 24, DType::f64, l, true, 61);
    check_strided_vs_cpu(2, 3, 300, 300, 64, DType::bf16, l, true, 62);
    check_strided_vs_cpu(1, 2, 100, 160, 128, DType::bf16, l, true, 63);
    check_strided_vs_cpu(2, 2, 1, 77, 64, DType::bf16, l, true, 64);
  }
  // The cpu path returns the same layout (computed contiguous, then copied).
  {
    auto in = inputs(2, 3, 40, 50, 16, 65);
    const double scale = 0.25;
    check_close(run_strided(in, Layout::transposed, true, Device::cpu(), DType::f64, scale),
                run(in, Device::cpu(), DType::f64, scale), 1e-12, 1e-12);
    for (int i = 0; i < 3; ++i) in[i] = in[i].to(DType::bf16).to(DType::f64);
    check_close(run_strided(in, Layout::model, true, Device::cpu(), DType::bf16, scale),
                run(in, Device::cpu(), DType::f32, scale), 2e-2, 2e-2);
  }
  // Contiguous inputs and the plain op's loss through to(f32): dO contiguous.
  {
    const auto in = inputs(2, 2, 150, 150, 64, 66);
    const double scale = 0.125;
    Tensor q = leaf_on(in[0], Device::cuda(), DType::f32), k = leaf_on(in[1], Device::cuda(), DType::f32),
           v = leaf_on(in[2], Device::cuda(), DType::f32);
    Tensor y = causal_attention_bthd(q, k, v, scale);
    CHECK(y.strides() == Shape{150 * 2 * 64, 64, 2 * 64, 1});
    sum(y * in[3].to(DType::f32).to(Device::cuda())).backward();
    auto host = [](const Tensor& t) { return t.to(Device::cpu()).to(DType::f64); };
    check_close({host(y), host(q.grad()), host(k.grad()), host(v.grad())}, run(in, Device::cpu(), DType::f32, scale),
                2e-5, 1e-4);
  }
}

TEST_CASE("cuda causal_attention_bthd under bf16 autocast keeps the layout in f32", "[cuda][ops][attention]") {
  LOGLIN_REQUIRE_CUDA();
  const auto in = inputs(2, 2, 200, 260, 64, 70);
  const double scale = 0.125;
  const Result cpu = run(in, Device::cpu(), DType::f32, scale);
  Result mixed;
  {
    AutocastGuard guard(DType::bf16);
    mixed = run_strided(in, Layout::model, true, Device::cuda(), DType::f32, scale);
  }
  check_close(mixed, cpu, 2e-2, 2e-2);
}

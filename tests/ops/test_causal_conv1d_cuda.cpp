// causal_conv1d on CUDA against the CPU path, f32 and f64, activation none
// and silu: forward, dx, dweight and dbias, also each gradient alone (the
// kernel variants that skip dx or dweight). Shapes: the Mamba-2 width
// C = 1792 and odd C = 37 (no vector loads), T = 1, T not a multiple of the
// row ranges, several sequences, W = 1, 4, 7 (register windows) and 11 (the
// v1 kernels). x contiguous, a narrow() of a wider last dim whose rows keep
// 16-byte alignment (vector loads in place), and one that does not (scalar
// loads in place). Also: sequences do not leak into each other, and the
// weight and bias gradients are the same bits on every run.
#include <algorithm>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

struct Layout {
  const char* what;
  int64_t pad, off;  // pad > 0: x = base[B, T, C + pad].narrow(2, off, C)
};

const Layout kDense{"contiguous", 0, 0};
const Layout kAligned{"narrowed, aligned rows", 8, 4};
const Layout kUnaligned{"narrowed, unaligned rows", 3, 1};

struct Run {
  Tensor out, dx, dw, db;  // on the cpu; undefined where not asked for
};

// base [B, T, C + pad] -> x; gradients of what need_* asks for.
Run run_on(const Tensor& base, const Layout& l, int64_t C, const Tensor& w, const Tensor& b, const Tensor& gy,
           ConvActivation act, bool need_x, bool need_w, Device dev) {
  auto view = [&](const Tensor& t) { return l.pad > 0 ? t.narrow(2, l.off, C) : t; };
  auto leaf = [&](const Tensor& t, bool grad) {
    if (!t.defined()) return Tensor();
    Tensor d = t.to(dev).detach();
    d.set_requires_grad(grad);
    return d;
  };
  Tensor basel = leaf(base, need_x), wl = leaf(w, need_w), bl = leaf(b, need_w);
  Tensor out = causal_conv1d(view(basel), wl, bl, act);
  Run r{out.to(Device::cpu()), Tensor(), Tensor(), Tensor()};
  if (!need_x && !need_w) return r;
  out.backward(gy.to(dev));
  if (need_x) r.dx = view(basel.grad()).contiguous().to(Device::cpu());
  if (need_w) r.dw = wl.grad().to(Device::cpu());
  if (need_w && bl.defined()) r.db = bl.grad().to(Device::cpu());
  return r;
}

struct Case {
  int64_t B, T, C, W;
  bool bias;
};

void check_case(const Case& k, const Layout& l, DType dt, ConvActivation act, uint64_t seed, bool need_x = true,
                bool need_w = true) {
  INFO("B " << k.B << " T " << k.T << " C " << k.C << " W " << k.W << (k.bias ? " bias, " : " no bias, ")
            << l.what << ", " << dtype_name(dt) << (act == ConvActivation::silu ? ", silu" : ", none")
            << (need_x ? "" : ", no dx") << (need_w ? "" : ", no dw"));
  Generator gen(seed);
  Tensor base = randn({k.B, k.T, k.C + l.pad}, dt, gen);
  Tensor w = randn({k.C, k.W}, dt, gen);
  Tensor b = k.bias ? randn({k.C}, dt, gen) : Tensor();
  Tensor gy = randn({k.B, k.T, k.C}, dt, gen);
  Run cpu = run_on(base, l, k.C, w, b, gy, act, need_x, need_w, Device::cpu());
  Run gpu = run_on(base, l, k.C, w, b, gy, act, need_x, need_w, Device::cuda());
  const double tol = dt == DType::f64 ? 1e-10 : 2e-5;
  const double param_tol = dt == DType::f64 ? 1e-10 : 1e-4;  // sums over every (b, t)
  CHECK(rel_err(gpu.out, cpu.out) <= tol);
  if (need_x) CHECK(rel_err(gpu.dx, cpu.dx) <= tol);
  if (need_w) CHECK(rel_err(gpu.dw, cpu.dw) <= param_tol);
  if (need_w && k.bias) CHECK(rel_err(gpu.db, cpu.db) <= param_tol);
}

}  // namespace

TEST_CASE("cuda causal_conv1d matches the cpu, forward and gradients", "[cuda][ops][causal_conv1d]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<Case> cases = {
      {2, 1000, 1792, 4, true},  // Mamba-2's conv width; T not a multiple of the row ranges
      {2, 129, 1792, 4, false},  {3, 257, 37, 4, true},  // odd C: scalar loads
      {2, 1, 1792, 4, true},     {5, 1, 37, 4, true},    // T = 1: only the current tap
      {2, 3, 64, 4, true},       // T < W
      {2, 300, 130, 1, true},    {3, 257, 64, 7, true},  {2, 97, 37, 7, false},
      {2, 200, 48, 11, true},    // wider than the register windows: v1
      {4, 1024, 384, 4, true},   {1, 1, 1, 4, true},
  };
  uint64_t seed = 70;
  for (const Case& k : cases)
    for (const Layout& l : {kDense, kAligned, kUnaligned})
      for (DType dt : {DType::f32, DType::f64})
        for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) check_case(k, l, dt, act, ++seed);
}

TEST_CASE("cuda causal_conv1d computes dx alone and dweight alone like the cpu", "[cuda][ops][causal_conv1d]") {
  LOGLIN_REQUIRE_CUDA();
  uint64_t seed = 400;
  for (const Case& k : {Case{2, 333, 1792, 4, true}, Case{3, 50, 37, 4, true}, Case{2, 70, 64, 7, true},
                        Case{2, 40, 20, 11, true}})
    for (const Layout& l : {kDense, kAligned})
      for (DType dt : {DType::f32, DType::f64})
        for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) {
          check_case(k, l, dt, act, ++seed, true, false);
          check_case(k, l, dt, act, ++seed, false, true);
        }
}

TEST_CASE("cuda causal_conv1d keeps sequences apart", "[cuda][ops][causal_conv1d]") {
  LOGLIN_REQUIRE_CUDA();
  // A change in sequence 1 moves nothing of sequence 0 or 2, and a gradient on
  // sequence 1 alone reaches no other sequence's dx.
  for (int64_t W : {int64_t{4}, int64_t{7}, int64_t{11}})
    for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) {
      INFO("W " << W << (act == ConvActivation::silu ? " silu" : " none"));
      const int64_t B = 3, T = 37, C = 64, n = T * C;  // sequence 1 is elements [n, 2n)
      Generator gen(500 + W);
      Tensor x = randn({B, T, C}, DType::f32, gen), w = randn({C, W}, DType::f32, gen);
      Tensor b = randn({C}, DType::f32, gen);
      std::vector<float> xv = x.to_vector<float>();
      for (int64_t i = n; i < 2 * n; ++i) xv[i] += 1.0f;
      Tensor x2 = Tensor::from_vector(xv, {B, T, C});
      const Device dev = Device::cuda();
      Tensor wd = w.to(dev), bd = b.to(dev);
      auto o1 = causal_conv1d(x.to(dev), wd, bd, act).to(Device::cpu()).to_vector<float>();
      auto o2 = causal_conv1d(x2.to(dev), wd, bd, act).to(Device::cpu()).to_vector<float>();
      int64_t others_moved = 0, own_moved = 0;
      for (int64_t i = 0; i < B * n; ++i) {
        if (i >= n && i < 2 * n) own_moved += o1[i] != o2[i];
        else others_moved += o1[i] != o2[i];
      }
      CHECK(others_moved == 0);
      CHECK(own_moved > 0);

      std::vector<float> gv(B * n, 0.0f);
      std::vector<float> g1 = randn({n}, DType::f32, gen).to_vector<float>();
      std::copy(g1.begin(), g1.end(), gv.begin() + n);
      Tensor xl = x.to(dev).detach();
      xl.set_requires_grad(true);
      causal_conv1d(xl, wd, bd, act).backward(Tensor::from_vector(gv, {B, T, C}).to(dev));
      auto dx = xl.grad().to(Device::cpu()).to_vector<float>();
      int64_t others_nonzero = 0;
      for (int64_t i = 0; i < B * n; ++i)
        if (i < n || i >= 2 * n) others_nonzero += dx[i] != 0.0f;
      CHECK(others_nonzero == 0);
    }
}

TEST_CASE("cuda causal_conv1d weight gradients are the same bits every run", "[cuda][ops][causal_conv1d]") {
  LOGLIN_REQUIRE_CUDA();
  for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) {
    Generator gen(90);
    Tensor base = randn({2, 2048, 264}, DType::f32, gen), w = randn({256, 4}, DType::f32, gen);
    Tensor b = randn({256}, DType::f32, gen), gy = randn({2, 2048, 256}, DType::f32, gen);
    Run a = run_on(base, kAligned, 256, w, b, gy, act, true, true, Device::cuda());
    Run c = run_on(base, kAligned, 256, w, b, gy, act, true, true, Device::cuda());
    CHECK(a.dw.to_vector<float>() == c.dw.to_vector<float>());
    CHECK(a.db.to_vector<float>() == c.db.to_vector<float>());
  }
}

// matmul on CUDA (cuBLAS) against the CPU path at model sizes: Linear-sized
// products with every operand layout (row-major, transposed views, strided
// views that must be packed), attention-shaped batches (transposed keys,
// permuted heads that leave the batch unmergeable, broadcast batch dims),
// forward and both gradients, in f32 and f64; bf16 autocast and bf16 inputs
// against f32; the float32 matmul precision setting.
#include <functional>
#include <string>

#include "catch.h"
#include "ops/precision.h"
#include "core/rng.h"
#include "ops/autocast.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

using Product = std::function<Tensor(const Tensor&, const Tensor&)>;

struct Result {
  Tensor out, da, db;  // on the cpu
};

// out = f(a, b) and the gradients of sum(out * w), from copies of a and b in
// `dtype` on `device`; w is drawn in f64 from `wseed` in out's shape.
Result run(const Product& f, const Tensor& a, const Tensor& b, uint64_t wseed, Device device, DType dtype) {
  Tensor ad = a.to(dtype).to(device).detach(), bd = b.to(dtype).to(device).detach();
  ad.set_requires_grad(true);
  bd.set_requires_grad(true);
  Tensor out = f(ad, bd);
  Generator wgen(wseed);
  out.backward(randn(out.shape(), DType::f64, wgen).to(out.dtype()).to(device).detach());
  return {out.to(Device::cpu()), ad.grad().to(Device::cpu()), bd.grad().to(Device::cpu())};
}

struct Case {
  std::string name;
  Shape a, b;  // shapes of the tensors f receives
  Product f;
};

// Checks f on cuda against f on the cpu, output and both gradients.
void check_case(const Case& c, DType dtype, double tol, uint64_t seed) {
  Generator gen(seed);
  Tensor a = randn(c.a, DType::f64, gen), b = randn(c.b, DType::f64, gen);
  Result cpu = run(c.f, a, b, seed + 1, Device::cpu(), dtype);
  Result gpu = run(c.f, a, b, seed + 1, Device::cuda(), dtype);
  INFO(c.name << " in " << dtype_name(dtype));
  CHECK(gpu.out.dtype() == dtype);
  CHECK(rel_err(gpu.out, cpu.out) < tol);
  CHECK(rel_err(gpu.da, cpu.da) < tol);
  CHECK(rel_err(gpu.db, cpu.db) < tol);
}

Tensor mm(const Tensor& a, const Tensor& b) { return matmul(a, b); }

// Restores the precision setting however the test ends.
struct Tf32Scope {
  Float32MatmulPrecisionGuard guard;
  explicit Tf32Scope(bool on)
      : guard(on ? Float32MatmulPrecision::high : Float32MatmulPrecision::highest) {}
};

}  // namespace

TEST_CASE("cuda: matmul f32 matches the cpu at Linear sizes, every operand layout", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<Case> cases = {
      {"[4096,768] @ [768,3072]", {4096, 768}, {768, 3072}, mm},
      {"x @ W^T (W [3072,768], transposed view)", {4096, 768}, {3072, 768},
       [](const Tensor& x, const Tensor& W) { return matmul(x, W.transpose(0, 1)); }},
      {"A^T @ B (A [768,1000], transposed view)", {768, 1000}, {768, 3072},
       [](const Tensor& A, const Tensor& B) { return matmul(A.transpose(0, 1), B); }},
      {"A^T @ B^T", {768, 1000}, {513, 768},
       [](const Tensor& A, const Tensor& B) { return matmul(A.transpose(0, 1), B.transpose(0, 1)); }},
      {"Linear: x [4,256,768] @ W^T", {4, 256, 768}, {3072, 768},
       [](const Tensor& x, const Tensor& W) { return matmul(x, W.transpose(0, 1)); }},
      {"every other column (packed first)", {1000, 1536}, {768, 777},
       [](const Tensor& a, const Tensor& b) { return matmul(a.slice(1, 0, 1536, 2), b); }},
      {"odd sizes", {257, 129}, {129, 65}, mm},
      {"one row", {1, 768}, {768, 3072}, mm},
      {"one column", {768, 1000}, {1000, 1}, mm},
      {"vector @ matrix", {768}, {768, 100}, mm},
      {"matrix @ vector", {100, 768}, {768}, mm},
  };
  for (const Case& c : cases) check_case(c, DType::f32, 1e-5, 11);
}

TEST_CASE("cuda: batched matmul f32 matches the cpu at attention shapes", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<Case> cases = {
      {"q [8,12,256,64] @ k^T", {8, 12, 256, 64}, {8, 12, 256, 64},
       [](const Tensor& q, const Tensor& k) { return matmul(q, k.transpose(2, 3)); }},
      {"p [8,12,256,256] @ v", {8, 12, 256, 256}, {8, 12, 256, 64}, mm},
      {"heads permuted out of [B,T,H,D] (batch not mergeable)", {8, 256, 12, 64}, {8, 256, 12, 64},
       [](const Tensor& q, const Tensor& k) {
         return matmul(q.permute({0, 2, 1, 3}), k.permute({0, 2, 3, 1}));
       }},
      {"broadcast batch [2,1,64,48] @ [3,48,80]", {2, 1, 64, 48}, {3, 48, 80}, mm},
      {"shared matrix [6,100,64] @ [64,33]", {6, 100, 64}, {64, 33}, mm},
      {"shared left matrix [100,64] @ [6,64,33]", {100, 64}, {6, 64, 33}, mm},
  };
  for (const Case& c : cases) check_case(c, DType::f32, 1e-5, 12);
}

TEST_CASE("cuda: matmul f64 matches the cpu to rounding", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  const std::vector<Case> cases = {
      {"[512,384] @ [384,768]", {512, 384}, {384, 768}, mm},
      {"x @ W^T", {2, 200, 384}, {768, 384},
       [](const Tensor& x, const Tensor& W) { return matmul(x, W.transpose(0, 1)); }},
      {"q @ k^T [4,6,128,64]", {4, 6, 128, 64}, {4, 6, 128, 64},
       [](const Tensor& q, const Tensor& k) { return matmul(q, k.transpose(2, 3)); }},
      {"broadcast batch", {2, 1, 33, 17}, {3, 17, 9}, mm},
  };
  for (const Case& c : cases) check_case(c, DType::f64, 1e-12, 13);
}

TEST_CASE("cuda: matmul under bf16 autocast returns f32 close to the f32 product", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(14);
  const Product linear = [](const Tensor& x, const Tensor& W) { return matmul(x, W.transpose(0, 1)); };
  Tensor x = randn({4, 256, 768}, DType::f64, gen), W = randn({3072, 768}, DType::f64, gen);
  Result cpu = run(linear, x, W, 99, Device::cpu(), DType::f32);

  // The backward runs after the guard is gone: it must still compute in bf16.
  Tensor xg = x.to(DType::f32).to(Device::cuda()).detach(), Wg = W.to(DType::f32).to(Device::cuda()).detach();
  xg.set_requires_grad(true);
  Wg.set_requires_grad(true);
  Tensor out;
  {
    AutocastGuard autocast(DType::bf16);
    REQUIRE(autocast_dtype() == DType::bf16);
    out = linear(xg, Wg);
  }
  CHECK(!autocast_dtype().has_value());
  CHECK(out.dtype() == DType::f32);
  CHECK(out.device().is_cuda());
  Generator wgen(99);
  Tensor wg = randn(out.shape(), DType::f64, wgen).to(DType::f32).to(Device::cuda()).detach();
  out.backward(wg);
  REQUIRE(xg.grad().dtype() == DType::f32);
  REQUIRE(Wg.grad().dtype() == DType::f32);
  CHECK(rel_err(out.to(Device::cpu()), cpu.out) < 1e-2);
  CHECK(rel_err(xg.grad().to(Device::cpu()), cpu.da) < 1e-2);
  CHECK(rel_err(Wg.grad().to(Device::cpu()), cpu.db) < 1e-2);

  // dx = w @ W with both rounded to bf16: the f32 product of the rounded
  // values agrees to accumulation order, the unrounded one only to bf16.
  auto bf16_rounded = [](const Tensor& t) { return t.to(DType::bf16).to(DType::f32); };
  Tensor dx_bf16 = matmul(bf16_rounded(wg), bf16_rounded(Wg.detach()));
  Tensor dx_f32 = matmul(wg, Wg.detach());
  const double err_rounded = rel_err(xg.grad(), dx_bf16), err_exact = rel_err(xg.grad(), dx_f32);
  INFO("dx vs bf16-rounded product " << err_rounded << ", vs f32 product " << err_exact);
  CHECK(err_rounded < 1e-4);
  CHECK(err_exact > 1e-4);
}

TEST_CASE("cuda: bf16 autocast leaves cpu and f64 products alone, bf16 inputs give bf16", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(15);
  Tensor a = randn({300, 200}, DType::f32, gen), b = randn({200, 100}, DType::f32, gen);
  Tensor plain_cpu = matmul(a, b);
  Tensor a64 = a.to(DType::f64).to(Device::cuda()), b64 = b.to(DType::f64).to(Device::cuda());
  Tensor plain64 = matmul(a64, b64);
  Tensor abf = a.to(Device::cuda()).to(DType::bf16), bbf = b.to(Device::cuda()).to(DType::bf16);
  AutocastGuard autocast(DType::bf16);
  CHECK(rel_err(matmul(a, b), plain_cpu) == 0);
  Tensor r64 = matmul(a64, b64);
  CHECK(r64.dtype() == DType::f64);
  CHECK(rel_err(r64, plain64) == 0);
  Tensor rbf = matmul(abf, bbf);
  CHECK(rbf.dtype() == DType::bf16);
  CHECK(rel_err(rbf, plain_cpu) < 1e-2);
  {
    AutocastGuard off(std::nullopt);
    CHECK(!autocast_dtype().has_value());
  }
  CHECK(autocast_dtype() == DType::bf16);
  LL_CHECK_ERROR(AutocastGuard(DType::f64), "[autocast]");
}

TEST_CASE("cuda: matmul uses TF32 only under float32 matmul precision high", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  Generator gen(16);
  Tensor a = randn({1024, 1024}, DType::f32, gen), b = randn({1024, 1024}, DType::f32, gen);
  Tensor ref = matmul(a.to(DType::f64), b.to(DType::f64));
  Tensor ag = a.to(Device::cuda()), bg = b.to(Device::cuda());
  CHECK(!float32_matmul_allows_tf32());
  double err_off = 0, err_on = 0;
  {
    Tf32Scope tf32(false);
    err_off = rel_err(matmul(ag, bg).to(Device::cpu()), ref);
  }
  {
    Tf32Scope tf32(true);
    CHECK(float32_matmul_allows_tf32());
    err_on = rel_err(matmul(ag, bg).to(Device::cpu()), ref);
  }
  INFO("rel err with TF32 off " << err_off << ", on " << err_on);
  CHECK(err_off < 1e-5);
  CHECK(err_on < 5e-3);
  CHECK(!float32_matmul_allows_tf32());
}

TEST_CASE("cuda: matmul errors name the op", "[cuda][matmul]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor a = Tensor::ones({4, 3}, DType::f32, Device::cuda()), b = Tensor::ones({4, 5}, DType::f32, Device::cuda());
  LL_CHECK_ERROR(matmul(a, b), "[matmul]");
  LL_CHECK_ERROR(matmul(a, Tensor::ones({3, 5})), "[matmul]");
  LL_CHECK_ERROR(matmul(Tensor::ones({4, 3}, DType::i32, Device::cuda()), Tensor::ones({3, 5}, DType::i32, Device::cuda())),
                 "[matmul]");
  // Empty products: zeros where K = 0, nothing where M or N = 0.
  Tensor z = matmul(Tensor::ones({5, 0}, DType::f32, Device::cuda()), Tensor::ones({0, 7}, DType::f32, Device::cuda()));
  CHECK(z.shape() == Shape{5, 7});
  CHECK(rel_err(z, Tensor::zeros({5, 7})) == 0);
  CHECK(matmul(Tensor::ones({0, 3}, DType::f32, Device::cuda()), Tensor::ones({3, 7}, DType::f32, Device::cuda()))
            .shape() == Shape{0, 7});
}

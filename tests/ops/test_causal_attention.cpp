// causal_attention on the CPU against the definition built from primitives
// (matmul, masked_fill, softmax, matmul), forward and gradients, for training
// (S == T), KV-cache continuation (S > T) and single-token decoding; plus
// errors, bf16 inputs and the gradcheck cases.
#include <cmath>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::all_finite;
using loglin_test::rel_err;

namespace {

// The T x S definition: query t sees keys 0..S-T+t.
Tensor ref_attention(const Tensor& q, const Tensor& k, const Tensor& v, double scale) {
  const int64_t T = q.size(2), S = k.size(2);
  Tensor scores = matmul(q, k.transpose(2, 3)) * scale;
  std::vector<int32_t> mask(T * S);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t s = 0; s < S; ++s) mask[t * S + s] = s > (S - T) + t;
  scores = masked_fill(scores, Tensor::from_vector(mask, {T, S}), -INFINITY);
  return matmul(softmax(scores, -1), v);
}

Tensor leaf(const Tensor& t) { return core::contiguous_copy(t).set_requires_grad(true); }

void check_against_reference(int64_t B, int64_t H, int64_t T, int64_t S, int64_t D, DType dt, uint64_t seed) {
  INFO("B " << B << " H " << H << " T " << T << " S " << S << " D " << D << " " << dtype_name(dt));
  Generator gen(seed);
  Tensor q0 = randn({B, H, T, D}, dt, gen), k0 = randn({B, H, S, D}, dt, gen), v0 = randn({B, H, S, D}, dt, gen);
  Tensor w = randn({B, H, T, D}, dt, gen);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  Tensor qf = leaf(q0), kf = leaf(k0), vf = leaf(v0), qr = leaf(q0), kr = leaf(k0), vr = leaf(v0);
  Tensor yf = causal_attention(qf, kf, vf, scale), yr = ref_attention(qr, kr, vr, scale);
  REQUIRE(yf.shape() == Shape{B, H, T, D});
  const double tol = dt == DType::f32 ? 1e-5 : 1e-11;
  CHECK(rel_err(yf, yr) < tol);
  sum(yf * w).backward();
  sum(yr * w).backward();
  CHECK(rel_err(qf.grad(), qr.grad()) < 10 * tol);
  CHECK(rel_err(kf.grad(), kr.grad()) < 10 * tol);
  CHECK(rel_err(vf.grad(), vr.grad()) < 10 * tol);
}

}  // namespace

TEST_CASE("causal_attention matches matmul masked_fill softmax matmul with S == T", "[ops][attention]") {
  for (DType dt : {DType::f64, DType::f32}) {
    check_against_reference(2, 3, 17, 17, 8, dt, 1);
    check_against_reference(1, 2, 130, 130, 12, dt, 2);  // more than one block of query rows
    check_against_reference(1, 1, 1, 1, 5, dt, 3);
  }
}

TEST_CASE("causal_attention matches the reference when keys outnumber queries", "[ops][attention]") {
  for (DType dt : {DType::f64, DType::f32}) {
    check_against_reference(2, 2, 7, 19, 6, dt, 4);
    check_against_reference(1, 3, 1, 33, 16, dt, 5);  // one decode step
    check_against_reference(1, 1, 70, 200, 7, dt, 6);
  }
}

TEST_CASE("causal_attention takes non-contiguous inputs and bf16", "[ops][attention]") {
  Generator gen(9);
  Tensor q = randn({1, 6, 2, 4}, DType::f32, gen).transpose(1, 2);  // [1, 2, 6, 4]
  Tensor k = randn({1, 2, 6, 4}, DType::f32, gen), v = randn({1, 2, 6, 4}, DType::f32, gen);
  CHECK(rel_err(causal_attention(q, k, v, 0.5), ref_attention(q, k, v, 0.5)) < 1e-5);
  Tensor yb = causal_attention(q.to(DType::bf16), k.to(DType::bf16), v.to(DType::bf16), 0.5);
  CHECK(yb.dtype() == DType::bf16);
  CHECK(rel_err(yb, ref_attention(q, k, v, 0.5)) < 2e-2);
}

TEST_CASE("causal_attention stays finite for large scores", "[ops][attention]") {
  Generator gen(10);
  Tensor q = randn({1, 1, 9, 4}, DType::f32, gen) * 100.0, k = randn({1, 1, 9, 4}, DType::f32, gen) * 100.0;
  Tensor v = randn({1, 1, 9, 4}, DType::f32, gen);
  Tensor y = causal_attention(q, k, v, 1.0);
  CHECK(all_finite(y));
  CHECK(rel_err(y, ref_attention(q, k, v, 1.0)) < 1e-5);
}

TEST_CASE("causal_attention rejects bad shapes and dtypes", "[ops][attention]") {
  Tensor q = Tensor::zeros({1, 2, 4, 8}), k = Tensor::zeros({1, 2, 4, 8});
  LL_CHECK_ERROR(causal_attention(Tensor::zeros({2, 4, 8}), k, k, 1.0), "[causal_attention]");
  LL_CHECK_ERROR(causal_attention(q, Tensor::zeros({1, 2, 4, 6}), k, 1.0), "[causal_attention]");
  LL_CHECK_ERROR(causal_attention(q, k, Tensor::zeros({1, 2, 5, 8}), 1.0), "[causal_attention]");
  LL_CHECK_ERROR(causal_attention(q, Tensor::zeros({1, 2, 3, 8}), Tensor::zeros({1, 2, 3, 8}), 1.0), "S >= T");
  LL_CHECK_ERROR(causal_attention(q, k.to(DType::f64), k, 1.0), "[causal_attention]");
  LL_CHECK_ERROR(causal_attention(q.to(DType::i32), k.to(DType::i32), k.to(DType::i32), 1.0), "[causal_attention]");
  LL_CHECK_ERROR(causal_attention(q, k, k, NAN), "scale");
}

TEST_CASE("causal_attention passes gradcheck", "[ops][attention][gradcheck]") {
  auto rows = run_gradcheck("causal_attention");
  REQUIRE(rows.size() >= 4);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": max abs err " << row.result.max_abs_err << " " << row.result.message);
    CHECK(row.result.passed);
  }
}

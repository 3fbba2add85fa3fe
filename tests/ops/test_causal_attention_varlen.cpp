// causal_attention_varlen: each query sees only the earlier keys of its own
// document; equal to causal_attention on each document alone, forward and
// gradients; bad cu_seqlens are clear errors.
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

TEST_CASE("causal_attention_varlen equals causal_attention on each document", "[ops][packed]") {
  Generator gen(11);
  const std::vector<int64_t> cu{0, 3, 4, 11, 16};
  const Tensor cut = Tensor::from_vector(cu, {5});
  const int64_t H = 2, T = 16, D = 5;
  Tensor q = randn({1, H, T, D}, DType::f64, gen).set_requires_grad(true);
  Tensor k = randn({1, H, T, D}, DType::f64, gen).set_requires_grad(true);
  Tensor v = randn({1, H, T, D}, DType::f64, gen).set_requires_grad(true);
  Tensor g = randn({1, H, T, D}, DType::f64, gen);
  Tensor o = causal_attention_varlen(q, k, v, 0.4, cut);
  sum(o * g).backward();
  const Tensor dq = q.grad(), dk = k.grad(), dv = v.grad();
  for (size_t d = 0; d + 1 < cu.size(); ++d) {
    const int64_t s = cu[d], n = cu[d + 1] - cu[d];
    INFO("document " << d);
    Tensor qd = q.detach().narrow(2, s, n).contiguous().set_requires_grad(true);
    Tensor kd = k.detach().narrow(2, s, n).contiguous().set_requires_grad(true);
    Tensor vd = v.detach().narrow(2, s, n).contiguous().set_requires_grad(true);
    Tensor od = causal_attention(qd, kd, vd, 0.4);
    sum(od * g.narrow(2, s, n)).backward();
    CHECK(rel_err(o.detach().narrow(2, s, n), od) < 1e-14);
    CHECK(rel_err(dq.narrow(2, s, n), qd.grad()) < 1e-14);
    CHECK(rel_err(dk.narrow(2, s, n), kd.grad()) < 1e-14);
    CHECK(rel_err(dv.narrow(2, s, n), vd.grad()) < 1e-14);
  }
  // The mask matters: one sequence over all 16 positions differs after the first document.
  CHECK(rel_err(causal_attention(q, k, v, 0.4).detach().narrow(2, 3, 13), o.detach().narrow(2, 3, 13)) > 1e-6);
}

TEST_CASE("causal_attention_varlen with bad inputs is a clear error", "[ops][packed]") {
  Generator gen(12);
  Tensor q = randn({1, 2, 6, 4}, DType::f32, gen);
  auto cu = [](std::vector<int64_t> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); };
  LL_CHECK_ERROR(causal_attention_varlen(q, q, q, 0.5, cu({0, 5})), "must end at T = 6");
  LL_CHECK_ERROR(causal_attention_varlen(q, q, q, 0.5, Tensor()), "[causal_attention_varlen]");
  Tensor q2 = randn({2, 2, 6, 4}, DType::f32, gen);
  LL_CHECK_ERROR(causal_attention_varlen(q2, q2, q2, 0.5, cu({0, 6})), "B must be 1");
  LL_CHECK_ERROR(causal_attention_varlen(q, randn({1, 2, 5, 4}, DType::f32, gen), q, 0.5, cu({0, 6})),
                 "must share one shape");
}

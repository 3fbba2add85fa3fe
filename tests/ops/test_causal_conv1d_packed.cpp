// causal_conv1d on packed documents (cu_seqlens): the fused CPU loops equal
// each document run on its own and the composite reference, forward and
// every gradient, with and without silu, for x read in place as a strided
// view, for documents shorter than the kernel and for one large enough for
// the threaded loops; bad cu_seqlens are clear errors.
#include <functional>
#include <string>
#include <vector>

#include "catch.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

Tensor cu_of(const std::vector<int64_t>& cu) { return Tensor::from_vector(cu, {static_cast<int64_t>(cu.size())}); }

struct Grads {
  Tensor out, dx, dw, db;
};

// out = act(conv(x)) and the gradients of sum(out * g); x [1, T, C] is read
// as channels [1, 1 + C) of a wider tensor when pad > 0.
Grads run(const Tensor& x_full, const Tensor& w, const Tensor& b, const Tensor& g, int64_t pad,
          const std::function<Tensor(const Tensor&, const Tensor&, const Tensor&)>& conv) {
  Tensor xl = x_full.detach().set_requires_grad(true), wl = w.detach().set_requires_grad(true),
         bl = b.detach().set_requires_grad(true);
  Tensor x = pad > 0 ? xl.narrow(2, 1, w.size(0)) : xl;
  Tensor out = conv(x, wl, bl);
  sum(out * g).backward();
  return {out.detach(), xl.grad(), wl.grad(), bl.grad()};
}

}  // namespace

TEST_CASE("causal_conv1d with cu_seqlens equals each document alone and the reference", "[ops][packed]") {
  Generator gen(5);
  struct Case {
    std::vector<int64_t> cu;
    int64_t C, W, pad;
  };
  // Documents shorter than, equal to and longer than W; one of a single row;
  // and a long packed row that runs the threaded loops.
  std::vector<int64_t> big{0};
  for (int64_t len : {300, 1, 2, 700, 17, 1024}) big.push_back(big.back() + len);
  for (const Case& k : {Case{{0, 2, 3, 9, 13}, 3, 4, 0}, Case{{0, 1, 5, 6}, 5, 3, 2}, Case{{0, 13}, 4, 4, 0},
                        Case{big, 64, 4, 3}}) {
    for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) {
      const int64_t T = k.cu.back();
      INFO("T = " << T << ", C = " << k.C << ", W = " << k.W << ", pad " << k.pad << ", silu "
                  << (act == ConvActivation::silu));
      Tensor x = randn({1, T, k.C + k.pad}, DType::f64, gen), w = randn({k.C, k.W}, DType::f64, gen),
             b = randn({k.C}, DType::f64, gen), g = randn({1, T, k.C}, DType::f64, gen);
      const Tensor cu = cu_of(k.cu);
      Grads fused = run(x, w, b, g, k.pad, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        return causal_conv1d(xx, ww, bb, act, cu);
      });
      Grads ref = run(x, w, b, g, k.pad, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        return causal_conv1d_reference(xx, ww, bb, act, cu);
      });
      // Each document on its own through the plain op, then cat.
      Grads alone = run(x, w, b, g, k.pad, [&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        std::vector<Tensor> parts;
        for (size_t d = 0; d + 1 < k.cu.size(); ++d)
          parts.push_back(causal_conv1d(xx.narrow(1, k.cu[d], k.cu[d + 1] - k.cu[d]), ww, bb, act));
        return cat(parts, 1);
      });
      for (const Grads* other : {&ref, &alone}) {
        CHECK(rel_err(fused.out, other->out) < 1e-13);
        CHECK(rel_err(fused.dx, other->dx) < 1e-13);
        CHECK(rel_err(fused.dw, other->dw) < 1e-13);
        CHECK(rel_err(fused.db, other->db) < 1e-13);
      }
      // The boundaries matter: the same x as one sequence gives another output.
      Tensor whole = causal_conv1d(k.pad > 0 ? x.narrow(2, 1, k.C) : x, w, b, act);
      if (k.cu.size() > 2) CHECK(rel_err(whole, fused.out) > 1e-6);
    }
  }
}

TEST_CASE("causal_conv1d_reference without cu_seqlens equals the fused op", "[ops][packed]") {
  Generator gen(6);
  Tensor x = randn({3, 7, 4}, DType::f64, gen), w = randn({4, 5}, DType::f64, gen), b = randn({4}, DType::f64, gen);
  for (ConvActivation act : {ConvActivation::none, ConvActivation::silu}) {
    CHECK(rel_err(causal_conv1d_reference(x, w, b, act), causal_conv1d(x, w, b, act)) < 1e-14);
    CHECK(rel_err(causal_conv1d_reference(x, w, Tensor(), act), causal_conv1d(x, w, Tensor(), act)) < 1e-14);
  }
}

TEST_CASE("causal_conv1d with bad cu_seqlens is a clear error", "[ops][packed]") {
  Generator gen(7);
  Tensor x = randn({1, 6, 2}, DType::f32, gen), w = randn({2, 3}, DType::f32, gen);
  LL_CHECK_ERROR(causal_conv1d(x, w, Tensor(), ConvActivation::none, cu_of({0, 4})), "must end at T = 6");
  LL_CHECK_ERROR(causal_conv1d(x, w, Tensor(), ConvActivation::none, cu_of({0, 4, 4, 6})), "strictly increasing");
  LL_CHECK_ERROR(causal_conv1d(randn({2, 3, 2}, DType::f32, gen), w, Tensor(), ConvActivation::none, cu_of({0, 3})),
                 "B must be 1");
  LL_CHECK_ERROR(causal_conv1d(x, w, Tensor(), ConvActivation::none,
                               Tensor::from_vector(std::vector<float>{0, 6}, {2})),
                 "[causal_conv1d] cu_seqlens must be an integer");
  const KernelPlan p = plan_causal_conv1d(x, w, Tensor(), cu_of({0, 2, 6}));
  CHECK(p.reason == "the CPU loops");
}

// Each layer's float64 gradcheck at tiny sizes, with respect to its input and
// every parameter.
#include "catch.h"
#include "core/rng.h"
#include "nn/layers/conv1d.h"
#include "nn/layers/embedding.h"
#include "nn/layers/linear.h"
#include "nn/layers/mlp.h"
#include "nn/layers/norm.h"
#include "nn/mixers/attention.h"
#include "nn/mixers/mamba2.h"
#include "nn_test_util.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {
Tensor input(const Shape& s) { return randn(s, DType::f64).set_requires_grad(true); }
void require_pass(const GradcheckResult& r) {
  INFO(r.message);
  CHECK(r.passed);
}
}  // namespace

TEST_CASE("Linear gradcheck", "[nn][gradcheck]") {
  manual_seed(0);
  Linear m(LinearOptions(3, 4).init_std(0.5));
  require_pass(test::gradcheck_module(m, input({2, 3}), [&](const Tensor& x) { return m.forward(x); }));
}

TEST_CASE("Embedding gradcheck", "[nn][gradcheck]") {
  manual_seed(0);
  Embedding m(EmbeddingOptions(5, 3).init_std(1.0));
  Tensor ids = Tensor::from_vector<int64_t>({0, 4, 4, 2}, {2, 2});
  Tensor dummy = input({1});
  require_pass(test::gradcheck_module(m, dummy, [&](const Tensor& d) { return m.forward(ids) * d; }));
}

TEST_CASE("RMSNorm and LayerNorm gradcheck", "[nn][gradcheck]") {
  manual_seed(0);
  RMSNorm r(NormOptions(4));
  require_pass(test::gradcheck_module(r, input({3, 4}), [&](const Tensor& x) { return r.forward(x); }));
  LayerNorm l(NormOptions(4));
  require_pass(test::gradcheck_module(l, input({3, 4}), [&](const Tensor& x) { return l.forward(x); }));
}

TEST_CASE("SwiGLU gradcheck", "[nn][gradcheck]") {
  manual_seed(0);
  SwiGLU m(SwiGLUOptions(3, 5).init_std(0.5).out_init_std(0.5));
  require_pass(test::gradcheck_module(m, input({2, 3}), [&](const Tensor& x) { return m.forward(x); }));
}

TEST_CASE("CausalConv1d gradcheck", "[nn][gradcheck]") {
  manual_seed(0);
  CausalConv1d m(CausalConv1dOptions(3, 4));
  require_pass(test::gradcheck_module(m, input({2, 5, 3}), [&](const Tensor& x) { return m.forward(x); }));
}

TEST_CASE("CausalSelfAttention gradcheck", "[nn][gradcheck]") {
  manual_seed(0);
  CausalSelfAttention m(AttentionOptions(8, 2).max_seq_len(16).init_std(0.3).out_init_std(0.3));
  require_pass(test::gradcheck_module(m, input({1, 5, 8}), [&](const Tensor& x) { return m.forward(x); }));
}

TEST_CASE("Mamba2 and LogLinearMamba2 gradcheck", "[nn][gradcheck]") {
  for (bool log_linear : {false, true}) {
    manual_seed(0);
    auto o = Mamba2Options(4).expand(2).head_dim(4).d_state(3).chunk_size(4).max_seq_len(16).init_std(0.3).out_init_std(0.3);
    std::shared_ptr<Mamba2Mixer> m;
    if (log_linear) m = std::make_shared<LogLinearMamba2>(o);
    else m = std::make_shared<Mamba2>(o);
    INFO(m->type_name());
    require_pass(test::gradcheck_module(*m, input({1, 9, 4}), [&](const Tensor& x) { return m->forward(x); }));
  }
}

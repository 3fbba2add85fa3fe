#include "catch.h"
#include "nn/layers/linear.h"
#include "nn/layers/mlp.h"
#include "nn/layers/norm.h"
#include "nn/module_list.h"
#include "nn_test_util.h"
#include "ops/ops.h"

using namespace loglin;
using namespace loglin::nn;

namespace {
struct Net : Module {
  std::shared_ptr<Linear> fc1, fc2;
  std::shared_ptr<ModuleList<RMSNorm>> norms;
  Tensor scale;
  Net() {
    fc1 = register_module("fc1", std::make_shared<Linear>(LinearOptions(4, 8)));
    fc2 = register_module("fc2", std::make_shared<Linear>(LinearOptions(8, 2).bias(false)));
    norms = register_module("norms", std::make_shared<ModuleList<RMSNorm>>());
    norms->push_back(std::make_shared<RMSNorm>(NormOptions(8)));
    scale = register_buffer("scale", Tensor::full({2}, 3.0));
  }
  Tensor forward(const Tensor& x) { return fc2->forward(relu((*norms)[0]->forward(fc1->forward(x)))) * scale; }
};
}  // namespace

TEST_CASE("named_parameters uses dotted names in registration order", "[nn]") {
  Net net;
  std::vector<std::string> names;
  for (auto& [n, _] : net.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "norms.0.weight"});
  CHECK(net.num_parameters() == 4 * 8 + 8 + 8 * 2 + 8);
  CHECK(net.state_dict().count("scale") == 1);
  CHECK(net.summary().find("norms.0.weight") != std::string::npos);
  CHECK(net.summary().find("total") != std::string::npos);
}

TEST_CASE("register errors: duplicate and dotted names", "[nn]") {
  Net net;
  CHECK_THROWS_AS(net.register_parameter("scale", Tensor::zeros({1})), loglin::Error);
  CHECK_THROWS_AS(net.register_parameter("a.b", Tensor::zeros({1})), loglin::Error);
}

TEST_CASE("train/eval propagates, zero_grad clears", "[nn]") {
  Net net;
  net.eval();
  CHECK_FALSE(net.fc1->is_training());
  net.train();
  CHECK((*net.norms)[0]->is_training());
  sum(net.forward(randn({3, 4}))).backward();
  CHECK(net.fc1->weight.grad().defined());
  net.zero_grad();
  CHECK_FALSE(net.fc1->weight.grad().defined());
}

TEST_CASE("state_dict round trip and load checks", "[nn]") {
  manual_seed(1);
  Net a;
  manual_seed(2);
  Net b;
  Tensor x = randn({5, 4});
  CHECK(test::rel_err(a.forward(x), b.forward(x)) > 1e-3);
  b.load_state_dict(a.state_dict());
  CHECK(a.forward(x).to_vector<float>() == b.forward(x).to_vector<float>());
  // The handle held by the layer sees the loaded values.
  CHECK(b.fc1->weight.to_vector<float>() == a.fc1->weight.to_vector<float>());

  auto sd = a.state_dict();
  sd["fc1.weight"] = Tensor::zeros({8, 5});
  try {
    b.load_state_dict(sd);
    FAIL("shape mismatch accepted");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("'fc1.weight' has shape [8, 5]") != std::string::npos);
  }
  auto missing = a.state_dict();
  missing.erase("fc2.weight");
  missing["extra"] = Tensor::zeros({1});
  try {
    b.load_state_dict(missing);
    FAIL("missing key accepted");
  } catch (const loglin::Error& e) {
    CHECK(std::string(e.what()).find("missing fc2.weight") != std::string::npos);
    CHECK(std::string(e.what()).find("unexpected extra") != std::string::npos);
  }
  CHECK_NOTHROW(b.load_state_dict(missing, /*strict=*/false));
}

TEST_CASE("to(dtype) converts in place, keeping handles and requires_grad", "[nn]") {
  Net net;
  Tensor w = net.fc1->weight;
  net.to(DType::f64);
  CHECK(w.dtype() == DType::f64);
  CHECK(net.fc1->weight.dtype() == DType::f64);
  CHECK(net.fc1->weight.requires_grad());
  CHECK(net.forward(randn({2, 4}, DType::f64)).dtype() == DType::f64);
  CHECK_THROWS_AS(net.to(DType::i32), loglin::Error);
  if (!cuda_is_available()) CHECK_THROWS_AS(net.to(Device::cuda()), loglin::Error);
}

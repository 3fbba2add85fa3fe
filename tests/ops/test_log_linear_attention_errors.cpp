// Log-linear attention: bad input is a clear error naming the op and the
// thing that is wrong, never a silent wrong answer.
#include <functional>

#include "catch.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"

using namespace loglin;
using namespace lla_test;

namespace {

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  CHECK_THROWS_AS(f(), loglin::Error);
  try {
    f();
  } catch (const loglin::Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("[log_linear_attention]") != std::string::npos);
    CHECK(msg.find(fragment) != std::string::npos);
  }
}

Tensor run(const Inputs& in, const LogLinearAttentionOptions& opt = LogLinearAttentionOptions()) {
  return log_linear_attention(in.q, in.k, in.v, in.g, in.ls, opt);
}

}  // namespace

TEST_CASE("log_linear_attention: shape and option errors", "[ops][log_linear_attention]") {
  Generator gen(21);
  const Inputs ok = random_inputs(gen, 1, 10, 1, 2, 3, 4);
  REQUIRE_NOTHROW(run(ok));

  Inputs bad = ok;
  bad.k = randn({1, 10, 1, 5}, DType::f32, gen);
  expect_error([&] { run(bad); }, "q and k must have the same shape");

  bad = ok;
  bad.v = randn({1, 9, 2, 4}, DType::f32, gen);
  expect_error([&] { run(bad); }, "v must be [B, T, H, V]");

  bad = ok;
  bad.g = rand({1, 10, 3}, -0.1, 0.0, DType::f32, gen);
  expect_error([&] { run(bad); }, "g must be [B, T, H]");

  bad = ok;
  bad.ls = rand({1, 10, 2, 4}, 0.5, 1.5, DType::f32, gen);  // positions up to 9 need L >= 5
  expect_error([&] { run(bad); }, "needs L >= bit_length(9) + 1 = 5");

  bad = random_inputs(gen, 1, 10, 3, 4, 3, 4);  // G = 3 does not divide H = 4
  expect_error([&] { run(bad); }, "G = 3 must divide the heads H = 4");

  expect_error([&] { run(ok, LogLinearAttentionOptions().chunk_size(48)); }, "chunk size must be a power of two");
  expect_error([&] { run(ok, LogLinearAttentionOptions().chunk_size(0)); }, "chunk size must be a power of two");

  bad = ok;
  bad.k = ok.k.to(DType::f64);
  expect_error([&] { run(bad); }, "must share one dtype");

  expect_error([&] { run(ok, LogLinearAttentionOptions().return_final_state()); },
               "call log_linear_attention_with_state");
}

TEST_CASE("log_linear_attention: non-finite g is an error", "[ops][log_linear_attention]") {
  Generator gen(22);
  for (double bad_value : {NAN, -INFINITY}) {
    Inputs in = random_inputs(gen, 1, 6, 1, 1, 2, 2);
    std::vector<float> g = in.g.to_vector<float>();
    g[3] = static_cast<float>(bad_value);
    in.g = Tensor::from_vector(g, in.g.shape());
    expect_error([&] { run(in); }, "g has a non-finite value");
    expect_error([&] { log_linear_attention_naive(in.q, in.k, in.v, in.g, in.ls); }, "g has a non-finite value");
  }
}

TEST_CASE("log_linear_attention: cu_seqlens errors", "[ops][log_linear_attention]") {
  Generator gen(23);
  const Inputs in = random_inputs(gen, 1, 10, 1, 2, 3, 4);
  auto with_cu = [&](std::vector<int64_t> cu) { return LogLinearAttentionOptions().cu_seqlens(cu_tensor(cu)); };
  REQUIRE_NOTHROW(run(in, with_cu({0, 4, 10})));
  expect_error([&] { run(in, with_cu({0, 6, 4, 10})); }, "strictly increasing");
  expect_error([&] { run(in, with_cu({0, 4, 4, 10})); }, "strictly increasing");
  expect_error([&] { run(in, with_cu({0, 4, 9})); }, "must end at T = 10");
  expect_error([&] { run(in, with_cu({1, 4, 10})); }, "must start at 0");
  expect_error([&] { run(in, LogLinearAttentionOptions().cu_seqlens(Tensor::zeros({3}))); }, "integer");
  const Inputs two = random_inputs(gen, 2, 10, 1, 2, 3, 4);
  expect_error([&] { run(two, with_cu({0, 4, 10})); }, "B must be 1");
}

TEST_CASE("log_linear_attention: state errors", "[ops][log_linear_attention]") {
  Generator gen(24);
  const Inputs in = random_inputs(gen, 2, 10, 1, 2, 3, 4, 6);
  LogLinearState st = LogLinearState::zeros(2, 2, 6, 3, 4);
  st.positions = {5, 7};
  REQUIRE_NOTHROW(run(in, LogLinearAttentionOptions().initial_state(st)));

  LogLinearState wrong_shape = LogLinearState::zeros(2, 2, 5, 3, 4);
  expect_error([&] { run(in, LogLinearAttentionOptions().initial_state(wrong_shape)); },
               "initial state levels must be [N, H, L, K, V]");
  LogLinearState wrong_count = st;
  wrong_count.positions = {5};
  expect_error([&] { run(in, LogLinearAttentionOptions().initial_state(wrong_count)); }, "positions for 2 sequences");
  LogLinearState too_far = st;
  too_far.positions = {5, 60};  // 60 + 9 = 69 needs 8 levels, there are 6
  expect_error([&] { run(in, LogLinearAttentionOptions().initial_state(too_far)); }, "needs L >=");
  LogLinearState not_empty{Tensor::ones({2, 2, 6, 3, 4}), {0, 3}};
  expect_error([&] { run(in, LogLinearAttentionOptions().initial_state(not_empty)); }, "position 0");

  // step: a position past what L levels can address.
  LogLinearState s1 = LogLinearState::zeros(1, 1, 3, 2, 2);
  s1.positions = {4};  // position 4 needs L >= 4
  expect_error(
      [&] {
        log_linear_attention_step(s1, randn({1, 1, 2}, DType::f32, gen), randn({1, 1, 2}, DType::f32, gen),
                                  randn({1, 1, 2}, DType::f32, gen), Tensor::full({1, 1}, -0.1),
                                  Tensor::ones({1, 1, 3}));
      },
      "needs L >= bit_length(4) + 1 = 4");
}

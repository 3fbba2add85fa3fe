// scalar_decay_attention (log-linear attention with lambda == 1, no levels):
// the chunked forward and backward against the log-linear naive answer key
// with level_scales all ones, varlen packed against separate calls, dtypes,
// the gradcheck cases and bad-input errors.
#include <functional>

#include "catch.h"
#include "ops/gradcheck_cases.h"
#include "ops/ops.h"
#include "test_log_linear_attention_util.h"

using namespace loglin;
using namespace lla_test;

namespace {

struct Config {
  int64_t B, G, H, K, V;
};

// G = 1 (Mamba-2), G = H, G < H; K != V.
const std::vector<Config> kConfigs = {{2, 1, 3, 8, 5}, {1, 4, 4, 5, 8}, {1, 2, 4, 3, 6}};

// Level scales all ones: log-linear attention reduces to scalar decay.
Tensor unit_scales(const Inputs& in) {
  return Tensor::ones({in.q.size(0), in.q.size(1), in.v.size(2), min_levels(in.q.size(1) - 1)}, in.q.dtype());
}

Tensor run(const Inputs& in, const ScalarDecayOptions& opt = ScalarDecayOptions()) {
  return scalar_decay_attention(in.q, in.k, in.v, in.g, opt);
}

// Runs the op with autograd and compares o and the q, k, v, g gradients with
// the naive answer key.
void check_against_naive(const Inputs& in, const ScalarDecayOptions& opt, Generator& gen, double tol_o,
                         double tol_grad) {
  const Tensor ones = unit_scales(in);
  const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, ones, opt.cu_seqlens());
  const Inputs x = with_grad(in);
  const Tensor o = scalar_decay_attention(x.q, x.k, x.v, x.g, opt);
  REQUIRE(o.shape() == ref.shape());
  const bool f32 = in.q.dtype() == DType::f32;
  const double err_o = rel_err(o, ref);
  if (f32) note("scalar_decay o", err_o);
  CHECK(err_o < tol_o);
  const Tensor dout = randn(o.shape(), o.dtype(), gen);
  o.backward(dout);
  const LogLinearAttentionGrads g =
      log_linear_attention_naive_backward(in.q, in.k, in.v, in.g, ones, dout, opt.cu_seqlens());
  const std::pair<const char*, std::pair<Tensor, Tensor>> pairs[] = {{"dq", {x.q.grad(), g.dq}},
                                                                     {"dk", {x.k.grad(), g.dk}},
                                                                     {"dv", {x.v.grad(), g.dv}},
                                                                     {"dg", {x.g.grad(), g.dg}}};
  for (const auto& [name, ab] : pairs) {
    INFO(name);
    REQUIRE(ab.first.defined());
    CHECK(ab.first.shape() == ab.second.shape());
    const double err = rel_err(ab.first, ab.second);
    if (f32) note(std::string("scalar_decay ") + name, err);
    CHECK(err < tol_grad);
  }
}

void expect_error(const std::function<void()>& f, const std::string& fragment) {
  CHECK_THROWS_AS(f(), loglin::Error);
  try {
    f();
  } catch (const loglin::Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(msg.find("[scalar_decay_attention]") != std::string::npos);
    CHECK(msg.find(fragment) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("scalar_decay_attention: forward and gradients equal naive with unit level scales",
          "[ops][scalar_decay]") {
  Generator gen(41);
  for (int64_t T : {1, 63, 64, 65, 200}) {
    for (const Config& c : kConfigs) {
      const Inputs in = random_inputs(gen, c.B, T, c.G, c.H, c.K, c.V);
      for (int64_t chunk : {16, 64}) {
        INFO("T " << T << " B " << c.B << " G " << c.G << " H " << c.H << " K " << c.K << " V " << c.V
                  << " chunk " << chunk);
        check_against_naive(in, ScalarDecayOptions().chunk_size(chunk), gen, 1e-5, 1e-4);
      }
    }
  }
}

TEST_CASE("scalar_decay_attention: strong decay, tiny chunks and chunk beyond T", "[ops][scalar_decay]") {
  // Decays near exp(-1) per step make far sources vanish; chunk 1 and 2 put
  // almost everything through the state, chunk 256 nothing.
  Generator gen(42);
  const Inputs in = random_inputs(gen, 1, 150, 1, 2, 4, 3, 0, DType::f32, 1.0);
  for (int64_t chunk : {1, 2, 256}) {
    INFO("chunk " << chunk);
    check_against_naive(in, ScalarDecayOptions().chunk_size(chunk), gen, 1e-5, 1e-4);
  }
}

TEST_CASE("scalar_decay_attention: equals log_linear_attention with unit level scales", "[ops][scalar_decay]") {
  Generator gen(43);
  const Inputs in = random_inputs(gen, 2, 130, 1, 2, 6, 4);
  const Tensor ref = log_linear_attention(in.q, in.k, in.v, in.g, unit_scales(in),
                                          LogLinearAttentionOptions().chunk_size(32));
  CHECK(rel_err(run(in, ScalarDecayOptions().chunk_size(32)), ref) < 1e-5);
}

TEST_CASE("scalar_decay_attention: varlen packed equals separate sequences", "[ops][scalar_decay]") {
  Generator gen(44);
  const std::vector<int64_t> cu = {0, 5, 70, 134, 200};  // lengths 5, 65, 64, 66
  for (const Config& c : {Config{1, 1, 3, 4, 5}, Config{1, 2, 4, 5, 3}}) {
    INFO("G " << c.G << " H " << c.H);
    const Inputs in = random_inputs(gen, 1, cu.back(), c.G, c.H, c.K, c.V);
    const ScalarDecayOptions opt = ScalarDecayOptions().chunk_size(16).cu_seqlens(cu_tensor(cu));
    // Against the naive answer key with the same cu_seqlens.
    check_against_naive(in, opt, gen, 1e-5, 1e-4);

    // Against one call per sequence on slices of the same leaves.
    const Inputs a = with_grad(in), b = with_grad(in);
    const Tensor packed = scalar_decay_attention(a.q, a.k, a.v, a.g, opt);
    std::vector<Tensor> parts;
    for (size_t i = 0; i + 1 < cu.size(); ++i) {
      const int64_t start = cu[i], len = cu[i + 1] - cu[i];
      parts.push_back(scalar_decay_attention(b.q.narrow(1, start, len), b.k.narrow(1, start, len),
                                             b.v.narrow(1, start, len), b.g.narrow(1, start, len),
                                             ScalarDecayOptions().chunk_size(16)));
    }
    const Tensor separate = cat(parts, 1);
    CHECK(rel_err(packed, separate) < 1e-6);
    const Tensor dout = randn(packed.shape(), packed.dtype(), gen);
    packed.backward(dout);
    separate.backward(dout);
    CHECK(rel_err(a.q.grad(), b.q.grad()) < 1e-6);
    CHECK(rel_err(a.k.grad(), b.k.grad()) < 1e-6);
    CHECK(rel_err(a.v.grad(), b.v.grad()) < 1e-6);
    CHECK(rel_err(a.g.grad(), b.g.grad()) < 1e-6);
  }
}

TEST_CASE("scalar_decay_attention: f64 to rounding, bf16 and strided inputs", "[ops][scalar_decay]") {
  Generator gen(45);
  {
    const Inputs in = random_inputs(gen, 1, 100, 2, 4, 3, 5, 0, DType::f64, 0.2);
    const Tensor o = run(in, ScalarDecayOptions().chunk_size(8));
    CHECK(o.dtype() == DType::f64);
    check_against_naive(in, ScalarDecayOptions().chunk_size(8), gen, 1e-12, 1e-10);
  }
  const Inputs in = random_inputs(gen, 1, 70, 1, 2, 4, 4);
  const Tensor ref = log_linear_attention_naive(in.q, in.k, in.v, in.g, unit_scales(in));
  {
    // bf16 q, k, v: computed in f32, o in bf16, gradients back in bf16.
    Inputs b{in.q.to(DType::bf16), in.k.to(DType::bf16), in.v.to(DType::bf16), in.g, Tensor()};
    for (Tensor* t : {&b.q, &b.k, &b.v}) t->set_requires_grad(true);
    const Tensor o = run(b);
    CHECK(o.dtype() == DType::bf16);
    CHECK(rel_err(o, ref) < 1e-2);
    o.backward(Tensor::ones(o.shape(), DType::bf16));
    REQUIRE(b.q.grad().defined());
    CHECK(b.q.grad().dtype() == DType::bf16);
  }
  {
    // Non-contiguous q: the first half of a wider tensor.
    Inputs s = in;
    s.q = cat({in.q, in.q}, 3).narrow(3, 0, in.q.size(3));
    REQUIRE_FALSE(s.q.is_contiguous());
    CHECK(rel_err(run(s), ref) < 1e-5);
  }
}

TEST_CASE("scalar_decay_attention: gradcheck cases (f64 finite differences)", "[ops][scalar_decay]") {
  const auto rows = run_gradcheck("scalar_decay_attention", 0);
  CHECK(rows.size() >= 3);
  for (const auto& row : rows) {
    INFO(row.gcase->label << ": " << row.result.message);
    CHECK(row.result.passed);
  }
}

TEST_CASE("scalar_decay_attention: bad input is a clear error", "[ops][scalar_decay]") {
  Generator gen(46);
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
  bad.q = randn({1, 10, 3}, DType::f32, gen);
  expect_error([&] { run(bad); }, "q [B, T, G, K] must have 4 dims");

  bad = random_inputs(gen, 1, 10, 3, 4, 3, 4);  // G = 3 does not divide H = 4
  expect_error([&] { run(bad); }, "G = 3 must divide the heads H = 4");

  expect_error([&] { run(ok, ScalarDecayOptions().chunk_size(48)); }, "chunk size must be a power of two");
  expect_error([&] { run(ok, ScalarDecayOptions().chunk_size(0)); }, "chunk size must be a power of two");

  bad = ok;
  bad.k = ok.k.to(DType::f64);
  expect_error([&] { run(bad); }, "must share one dtype");

  bad = ok;
  bad.g = ok.g.to(DType::f64);
  expect_error([&] { run(bad); }, "g must be f32");

  for (double bad_value : {NAN, -INFINITY}) {
    bad = ok;
    std::vector<float> g = ok.g.to_vector<float>();
    g[7] = static_cast<float>(bad_value);
    bad.g = Tensor::from_vector(g, ok.g.shape());
    expect_error([&] { run(bad); }, "g has a non-finite value");
  }

  auto with_cu = [&](const std::vector<int64_t>& cu) { return ScalarDecayOptions().cu_seqlens(cu_tensor(cu)); };
  expect_error([&] { run(ok, with_cu({0, 4, 9})); }, "cu_seqlens must end at T = 10");
  expect_error([&] { run(ok, with_cu({1, 4, 10})); }, "cu_seqlens must start at 0");
  expect_error([&] { run(ok, with_cu({0, 4, 4, 10})); }, "strictly increasing");
  expect_error([&] { run(ok, with_cu({0})); }, "cu_seqlens must be a 1-D tensor");
  const Inputs two = random_inputs(gen, 2, 10, 1, 2, 3, 4);
  expect_error([&] { run(two, with_cu({0, 4, 10})); }, "B must be 1");
  expect_error([&] { run(ok, ScalarDecayOptions().cu_seqlens(Tensor::from_vector(std::vector<float>{0, 10}, {2}))); },
               "cu_seqlens must be an integer");
}

// autograd::checkpoint (activation recompute) and autograd::grad, the engine
// call it backs onto: gradients bit-identical to the plain run (params used
// twice, two outputs, an output left unused, dropout's random draws, nesting,
// grad accumulation), fn running twice, the second-backward and
// captured-tensor errors, grad-ready hooks, and the autocast mode the
// recompute sees.
#include <cstring>
#include <functional>
#include <optional>
#include <vector>

#include "autograd/checkpoint.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/grad_ready_hook.h"
#include "autograd/node.h"
#include "core/rng.h"
#include "ops/autocast.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

// Same dtype, shape and bits (so -0 differs from +0, and NaN never matches
// a number).
bool same_bits(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DType::f64) {
    auto va = a.to_vector<double>(), vb = b.to_vector<double>();
    return std::memcmp(va.data(), vb.data(), va.size() * sizeof(double)) == 0;
  }
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

Tensor param(const Shape& shape, Generator& gen) { return (randn(shape, DType::f32, gen) * 0.5).detach().set_requires_grad(true); }

struct Net {
  Tensor W, b;  // leaves
};

Net make_net(uint64_t seed) {
  Generator gen(seed);
  return {param({6, 6}, gen), param({6}, gen)};
}

// Two outputs; W is used twice.
std::vector<Tensor> two_outputs(const Net& n, const Tensor& x) {
  Tensor h = tanh(x.matmul(n.W) + n.b);
  Tensor y = h.matmul(n.W.transpose(0, 1));
  return {y, sigmoid(h) * x};
}

Tensor loss_of(const std::vector<Tensor>& outs) { return (outs[0] * outs[0]).mean() + outs[1].sum() * 0.25; }

}  // namespace

TEST_CASE("checkpoint: two outputs and a parameter used twice, gradients bit-identical", "[autograd][checkpoint]") {
  Generator gen(3);
  const Tensor x0 = randn({5, 6}, DType::f32, gen);

  Net plain = make_net(9);
  Tensor xp = x0.detach().set_requires_grad(true);
  Tensor lp = loss_of(two_outputs(plain, xp));
  lp.backward();

  Net ck = make_net(9);
  Tensor xc = x0.detach().set_requires_grad(true);
  int calls = 0;
  std::vector<Tensor> outs = autograd::checkpoint(
      [&](const std::vector<Tensor>& in) {
        ++calls;
        return two_outputs(ck, in[0]);
      },
      {xc}, {.params = {ck.W, ck.b}});
  CHECK(calls == 1);
  REQUIRE(outs.size() == 2);
  CHECK(outs[0].grad_fn() != nullptr);
  CHECK(outs[0].grad_fn()->name() == "checkpoint");
  CHECK(outs[0].grad_fn() == outs[1].grad_fn());
  Tensor lc = loss_of(outs);
  CHECK(same_bits(lc, lp));
  lc.backward();
  CHECK(calls == 2);  // recomputed once, inside backward
  CHECK(same_bits(xc.grad(), xp.grad()));
  CHECK(same_bits(ck.W.grad(), plain.W.grad()));
  CHECK(same_bits(ck.b.grad(), plain.b.grad()));
}

TEST_CASE("checkpoint: an output that gets no gradient is left out of the recompute's backward",
          "[autograd][checkpoint]") {
  Generator gen(4);
  const Tensor x0 = randn({5, 6}, DType::f32, gen);
  Net plain = make_net(2), ck = make_net(2);
  Tensor xp = x0.detach().set_requires_grad(true), xc = x0.detach().set_requires_grad(true);
  (two_outputs(plain, xp)[1] * 3.0).sum().backward();
  std::vector<Tensor> outs = autograd::checkpoint([&](const std::vector<Tensor>& in) { return two_outputs(ck, in[0]); },
                                                  {xc}, {.params = {ck.W, ck.b}});
  (outs[1] * 3.0).sum().backward();
  CHECK(same_bits(xc.grad(), xp.grad()));
  CHECK(same_bits(ck.b.grad(), plain.b.grad()));
  CHECK(same_bits(ck.W.grad(), plain.W.grad()));
}

TEST_CASE("checkpoint: dropout draws the same masks when recomputed, and the generator ends as in the plain run",
          "[autograd][checkpoint]") {
  Generator data(5);
  const Tensor x0 = randn({8, 16}, DType::f32, data);
  Tensor w0 = randn({16}, DType::f32, data);
  auto block = [](const Tensor& x, const Tensor& w, Generator& g) { return dropout(tanh(x * w), 0.3, true, g) * x; };

  Generator gp(77);
  Tensor xp = x0.detach().set_requires_grad(true), wp = w0.detach().set_requires_grad(true);
  Tensor lp = block(xp, wp, gp).sum();
  (void)gp.next_u64();  // something else draws between forward and backward
  lp.backward();
  const uint64_t plain_next = gp.next_u64();

  Generator gc(77);
  Tensor xc = x0.detach().set_requires_grad(true), wc = w0.detach().set_requires_grad(true);
  Tensor lc =
      autograd::checkpoint([&](const Tensor& x) { return block(x, wc, gc); }, xc, {.params = {wc}, .generators = {&gc}})
          .sum();
  (void)gc.next_u64();
  lc.backward();
  CHECK(same_bits(lc, lp));
  CHECK(same_bits(xc.grad(), xp.grad()));
  CHECK(same_bits(wc.grad(), wp.grad()));
  CHECK(gc.next_u64() == plain_next);  // the recompute put the generator back
}

TEST_CASE("checkpoint: default_generator() is restored without being listed", "[autograd][checkpoint]") {
  Generator data(6);
  const Tensor x0 = randn({8, 16}, DType::f32, data);
  auto run = [&](bool checkpointed) {
    manual_seed(123);
    Tensor x = x0.detach().set_requires_grad(true);
    auto fn = [](const Tensor& v) { return dropout(tanh(v), 0.5, true) * v; };  // draws from default_generator()
    Tensor y = checkpointed ? autograd::checkpoint(fn, x) : fn(x);
    y.sum().backward();
    return x.grad();
  };
  const Tensor plain = run(false);
  CHECK(same_bits(run(true), plain));
}

TEST_CASE("checkpoint: a second backward is an error, unless the first retained the graph",
          "[autograd][checkpoint]") {
  Net n = make_net(1);
  Tensor x = Tensor::ones({2, 6}).set_requires_grad(true);
  auto fn = [&](const Tensor& in) { return tanh(in.matmul(n.W)); };
  Tensor loss = autograd::checkpoint(fn, x, {.params = {n.W}}).sum();
  loss.backward();
  LL_CHECK_ERROR(loss.backward(), "already freed");

  n.W.zero_grad();
  int calls = 0;
  Tensor again = autograd::checkpoint(
                     [&](const Tensor& in) {
                       ++calls;
                       return fn(in);
                     },
                     x, {.params = {n.W}})
                     .sum();
  again.backward(Tensor(), /*retain_graph=*/true);
  const std::vector<double> once = n.W.grad().to_vector<double>();
  again.backward();
  CHECK(calls == 3);  // the forward and one recompute per backward
  const std::vector<double> twice = n.W.grad().to_vector<double>();
  REQUIRE(twice.size() == once.size());
  for (size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == 2 * once[i]);  // doubling is exact
}

TEST_CASE("checkpoint: a tensor that needs a gradient must be an input or a param", "[autograd][checkpoint]") {
  Net n = make_net(1);
  Tensor x = Tensor::ones({2, 6}).set_requires_grad(true);
  // W captured but not listed: its gradient would be lost.
  Tensor y = autograd::checkpoint([&](const Tensor& in) { return in.matmul(n.W); }, x);
  LL_CHECK_ERROR(y.sum().backward(), "[checkpoint] the graph reaches a leaf tensor that requires grad");

  // A tensor with history from outside, captured: backward would run (and free) the outer graph.
  Tensor outer = n.W * 2.0;
  Tensor z = autograd::checkpoint([&](const Tensor& in) { return in.matmul(outer); }, x, {.params = {n.W}});
  LL_CHECK_ERROR(z.sum().backward(), "recorded before it");

  LL_CHECK_ERROR(autograd::checkpoint([](const Tensor& in) { return in; }, x, {.params = {outer}}),
                 "options.params[0]");
}

TEST_CASE("checkpoint: without grad, or with nothing needing one, fn just runs", "[autograd][checkpoint]") {
  Net n = make_net(1);
  Tensor x = Tensor::ones({2, 6});
  int calls = 0;
  auto fn = [&](const Tensor& in) {
    ++calls;
    return in.matmul(n.W);
  };
  {
    NoGradGuard no_grad;
    CHECK_FALSE(autograd::checkpoint(fn, x, {.params = {n.W}}).requires_grad());
  }
  Tensor c = Tensor::ones({6, 6});
  Tensor y = autograd::checkpoint([&](const Tensor& in) { return in.matmul(c); }, x);
  CHECK(y.is_leaf());
  CHECK_FALSE(y.requires_grad());
  // Integer outputs come back without history; fn returning its input gets a new handle.
  std::vector<Tensor> outs = autograd::checkpoint(
      [&](const std::vector<Tensor>& in) { return std::vector<Tensor>{in[0], Tensor::arange(3)}; },
      {x.detach().set_requires_grad(true)});
  CHECK(outs[0].grad_fn() != nullptr);
  CHECK(outs[1].is_leaf());
  CHECK(calls == 1);
}

TEST_CASE("checkpoint: nested checkpoints and grad accumulation stay bit-identical", "[autograd][checkpoint]") {
  Generator gen(8);
  const Tensor x0 = randn({4, 6}, DType::f32, gen);
  Net a = make_net(3), b = make_net(4), pa = make_net(3), pb = make_net(4);
  // Each parameter is used once per layer, as in the language model's blocks; x is an activation (it has history).
  auto layer = [](const Net& n, const Tensor& x) { return x + tanh(x.matmul(n.W) + n.b); };

  Tensor xp = x0.detach().set_requires_grad(true), xc = x0.detach().set_requires_grad(true);
  for (int micro = 0; micro < 2; ++micro) {  // two backward passes add into .grad
    pow(layer(b, layer(a, xp * 2.0)), 2.0).mean().backward();
    auto inner = [&](const Tensor& h) {
      return autograd::checkpoint([&](const Tensor& v) { return layer(pb, v); }, h, {.params = {pb.W, pb.b}});
    };
    Tensor y = autograd::checkpoint([&](const Tensor& v) { return inner(layer(pa, v)); }, xc * 2.0,
                                    {.params = {pa.W, pa.b, pb.W, pb.b}});
    pow(y, 2.0).mean().backward();
  }
  CHECK(same_bits(xc.grad(), xp.grad()));
  CHECK(same_bits(pa.W.grad(), a.W.grad()));
  CHECK(same_bits(pa.b.grad(), a.b.grad()));
  CHECK(same_bits(pb.W.grad(), b.W.grad()));
  CHECK(same_bits(pb.b.grad(), b.b.grad()));
}

TEST_CASE("checkpoint: a leaf used twice inside fn, accumulating, agrees up to rounding", "[autograd][checkpoint]") {
  // The documented difference: the plain run adds each use into .grad in
  // turn, the checkpoint adds the sum of its uses once.
  Generator gen(9);
  const Tensor x0 = randn({4, 6}, DType::f32, gen);
  Net p = make_net(5), c = make_net(5);
  auto layer = [](const Net& n, const Tensor& x) { return x + tanh(x.matmul(n.W) + n.b); };
  Tensor xp = x0.detach().set_requires_grad(true), xc = x0.detach().set_requires_grad(true);
  for (int micro = 0; micro < 2; ++micro) {
    layer(p, xp).sum().backward();
    autograd::checkpoint([&](const Tensor& v) { return layer(c, v); }, xc, {.params = {c.W, c.b}}).sum().backward();
  }
  CHECK(loglin_test::rel_err(xc.grad(), xp.grad()) < 1e-6);
  CHECK(same_bits(c.W.grad(), p.W.grad()));  // used once: exact
}

TEST_CASE("checkpoint: a grad-ready hook runs once, after the last use of the param inside and outside",
          "[autograd][checkpoint]") {
  Net n = make_net(6);
  Tensor x = Tensor::ones({3, 6}).set_requires_grad(true);
  std::vector<std::vector<double>> seen;
  auto hook = autograd::on_grad_ready(n.W, [&](const Tensor& w) { seen.push_back(w.grad().to_vector<double>()); });
  Tensor y = autograd::checkpoint([&](const Tensor& in) { return tanh(in.matmul(n.W)); }, x, {.params = {n.W, n.b}});
  (y.matmul(n.W).sum()).backward();  // W used once more, outside
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == n.W.grad().to_vector<double>());
}

TEST_CASE("checkpoint: the recompute sees the autocast mode of the forward", "[autograd][checkpoint]") {
  Tensor x = Tensor::ones({2, 2}).set_requires_grad(true);
  std::vector<std::optional<DType>> modes;
  Tensor y;
  {
    AutocastGuard bf16(DType::bf16);
    y = autograd::checkpoint(
        [&](const Tensor& in) {
          modes.push_back(autocast_dtype());
          return in * 2.0;
        },
        x);
  }
  REQUIRE_FALSE(autocast_dtype().has_value());
  y.sum().backward();
  REQUIRE(modes.size() == 2);
  CHECK(modes[1] == std::optional<DType>(DType::bf16));
  CHECK_FALSE(autocast_dtype().has_value());  // and it is off again afterwards
}

TEST_CASE("grad: hands back the leaves' gradients and leaves .grad alone", "[autograd]") {
  Tensor a = Tensor::from_vector<double>({1, 2}, {2}).set_requires_grad(true);
  Tensor b = Tensor::from_vector<double>({3, 4}, {2}).set_requires_grad(true);
  Tensor c = Tensor::from_vector<double>({5, 6}, {2}).set_requires_grad(true);
  Tensor y = (a * b + a).sum();
  std::vector<Tensor> g = autograd::grad({y}, {Tensor::scalar(1.0, DType::f64)}, {a, b, c});
  CHECK(g[0].to_vector<double>() == std::vector<double>{4, 5});
  CHECK(g[1].to_vector<double>() == std::vector<double>{1, 2});
  CHECK_FALSE(g[2].defined());  // no path
  CHECK_FALSE(a.grad().defined());
  CHECK_FALSE(b.grad().defined());
  LL_CHECK_ERROR(autograd::grad({(a * b).sum()}, {Tensor::scalar(1.0, DType::f64)}, {a}),
                 "[grad] the graph reaches a leaf tensor that requires grad");
  LL_CHECK_ERROR(autograd::grad({(a * b).sum()}, {Tensor::scalar(1.0, DType::f64)}, {a * 1.0, b}), "has a grad_fn");
}

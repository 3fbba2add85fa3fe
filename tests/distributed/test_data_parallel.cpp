// The key property: N ranks, each with its shard of a global batch, whose
// gradients GradReducer averages, end with the gradient a single process
// computes on the whole batch; with two accumulated micro-steps too, and then
// they communicate once per step. Also: launch order is fixed whatever order
// gradients become ready in, missing gradients count as zeros, misuse errors.
#include <cmath>
#include <memory>
#include <mutex>
#include <optional>

#include "autograd/grad_ready_hook.h"
#include "core/rng.h"
#include "distributed/grad_reducer.h"
#include "distributed/in_process_communicator.h"
#include "distributed/shard.h"
#include "nn/layers/linear.h"
#include "ops/ops.h"
#include "test_util.h"
#include "two_layer_net.h"

using namespace loglin;
using namespace loglin::dist;

namespace {

using Net = dp_test::TwoLayerNet;

constexpr int64_t kBatch = 24;  // a multiple of 1, 2, 3, 4 and of 2 micro-steps on each

struct Data {
  Tensor x, y;  // [24, 6] features, [24] classes
};
Data make_data(DType dtype) {
  Generator gen(5);
  return {randn({kBatch, 6}, DType::f64, gen).to(dtype), randint(0, 5, {kBatch}, DType::i64, gen)};
}

// Gradients in named_parameters() order, flattened into one vector each.
std::vector<std::vector<double>> grads_of(const nn::Module& m) {
  std::vector<std::vector<double>> g;
  for (const Tensor& p : m.parameters()) g.push_back(p.grad().to_vector<double>());
  return g;
}

double rel_err(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
  double num = 0, den = 0;
  if (a.size() != b.size()) return INFINITY;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != b[i].size()) return INFINITY;
    for (size_t j = 0; j < a[i].size(); ++j) {
      num += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
      den += b[i][j] * b[i][j];
    }
  }
  const double e = std::sqrt(num / den);
  return std::isnan(e) ? INFINITY : e;
}

// The single-process gradient of the mean loss over the whole batch.
std::vector<std::vector<double>> reference_grads(DType dtype) {
  Generator gen(1);
  Net net(gen);
  net.to(dtype);
  Data d = make_data(dtype);
  cross_entropy(net.forward(d.x), d.y).backward();
  return grads_of(net);
}

struct RankResult {
  std::vector<std::vector<double>> grads;
  int64_t calls_after_first_micro_step = -1;
  int64_t calls_after_step = -1;
  int64_t buckets = 0;
};

// One training step on `world` ranks; `micro` micro-steps per rank.
std::vector<RankResult> data_parallel_grads(int world, int micro, DType dtype, double bucket_mb) {
  std::vector<RankResult> out(static_cast<size_t>(world));
  std::mutex mu;
  const Data d = make_data(dtype);
  run_in_process(world, [&](Communicator& comm) {
    const int r = comm.rank();
    // Different initial weights on each rank; the broadcast makes them rank 0's.
    Generator gen(r == 0 ? 1 : 1000 + r);
    Net net(gen);
    net.to(dtype);
    comm.broadcast(net.parameters());
    GradReducer reducer(comm, net.named_parameters(), GradReducerOptions{bucket_mb, ReduceOp::average});
    BatchShard shard(r, world);
    Tensor x = shard.slice(d.x), y = shard.slice(d.y);
    const int64_t rows = x.size(0) / micro;
    RankResult res;
    for (int a = 0; a < micro; ++a) {
      std::optional<GradReducer::NoSync> quiet;
      if (a + 1 < micro) quiet.emplace(reducer);
      Tensor loss = cross_entropy(net.forward(x.narrow(0, a * rows, rows)), y.narrow(0, a * rows, rows));
      (micro > 1 ? mul(loss, 1.0 / micro) : loss).backward();
      // The order a backward hook would see: the last layer's parameters first.
      auto params = net.parameters();
      for (size_t k = params.size(); k-- > 0;) reducer.mark_ready(params[k]);
      reducer.finish();
      if (a == 0) res.calls_after_first_micro_step = comm.stats().all_reduce_calls;
    }
    res.calls_after_step = comm.stats().all_reduce_calls;
    res.buckets = static_cast<int64_t>(reducer.buckets().size());
    res.grads = grads_of(net);
    std::lock_guard<std::mutex> lock(mu);
    out[static_cast<size_t>(r)] = std::move(res);
  });
  return out;
}

}  // namespace

TEST_CASE("data parallel: averaged shard gradients equal the whole-batch gradient", "[distributed]") {
  for (DType dtype : {DType::f32, DType::f64}) {
    const auto ref = reference_grads(dtype);
    const double tol = dtype == DType::f32 ? 1e-6 : 1e-13;
    for (int world = 1; world <= 4; ++world) {
      for (double bucket_mb : {kDefaultBucketMb, 0.0002}) {  // one bucket; then one per parameter
        INFO(dtype_name(dtype) << ", world " << world << ", bucket_mb " << bucket_mb);
        auto res = data_parallel_grads(world, 1, dtype, bucket_mb);
        for (int r = 0; r < world; ++r) {
          INFO("rank " << r);
          CHECK(rel_err(res[r].grads, ref) < tol);
          CHECK(res[r].grads == res[0].grads);  // bit-identical on every rank
          CHECK(res[r].calls_after_step == res[r].buckets);
        }
        CHECK(res[0].buckets == (bucket_mb == kDefaultBucketMb ? 1 : 4));
      }
    }
  }
}

TEST_CASE("data parallel: two accumulated micro-steps match and communicate once", "[distributed]") {
  for (DType dtype : {DType::f32, DType::f64}) {
    const auto ref = reference_grads(dtype);
    const double tol = dtype == DType::f32 ? 1e-6 : 1e-13;
    for (int world = 1; world <= 4; ++world) {
      INFO(dtype_name(dtype) << ", world " << world);
      auto res = data_parallel_grads(world, 2, dtype, 0.0002);
      for (int r = 0; r < world; ++r) {
        INFO("rank " << r);
        CHECK(rel_err(res[r].grads, ref) < tol);
        CHECK(res[r].calls_after_first_micro_step == 0);  // the no_sync micro-step kept quiet
        CHECK(res[r].calls_after_step == res[r].buckets);  // one all-reduce per bucket, once
        CHECK(res[r].buckets == 4);
      }
    }
  }
}

TEST_CASE("grad reducer: launch order is fixed whatever order gradients arrive in", "[distributed]") {
  // Buckets of different sizes: a rank launching them out of order would
  // meet another rank's different-sized all-reduce and throw.
  std::vector<std::vector<float>> got(2);
  std::mutex mu;
  run_in_process(2, [&](Communicator& comm) {
    const int r = comm.rank();
    std::vector<std::pair<std::string, Tensor>> ps;
    for (int i = 0; i < 4; ++i) {
      Tensor p = Tensor::zeros({16 * (i + 1)});
      p.set_requires_grad(true);
      p.set_grad(Tensor::full({16 * (i + 1)}, 10.0 * i + r));
      ps.emplace_back(fmt::format("p{}", i), p);
    }
    GradReducer reducer(comm, ps, GradReducerOptions{128.0 / (1024 * 1024), ReduceOp::sum});  // 128 bytes: one bucket each
    REQUIRE(reducer.buckets().size() == 4);
    // Rank 0: registration order (the last bucket first); rank 1: backward order.
    for (int i = 0; i < 4; ++i) reducer.mark_ready(r == 0 ? i : 3 - i);
    CHECK(reducer.buckets_launched() == 4);
    reducer.finish();
    std::vector<float> v;
    for (auto& [_, p] : ps) v.push_back(p.grad().to_vector<float>().back());
    std::lock_guard<std::mutex> lock(mu);
    got[r] = v;
  });
  CHECK(got[0] == std::vector<float>{1, 21, 41, 61});
  CHECK(got[1] == got[0]);
}

TEST_CASE("grad reducer: a missing gradient counts as zeros, misuse is a clear error", "[distributed]") {
  std::vector<std::vector<float>> got(2);
  std::vector<std::string> twice(2), stranger(2);
  std::mutex mu;
  run_in_process(2, [&](Communicator& comm) {
    const int r = comm.rank();
    Tensor w = Tensor::zeros({3}), frozen = Tensor::zeros({2});
    w.set_requires_grad(true);
    if (r == 0) w.set_grad(Tensor::full({3}, 4.0));  // rank 1 never used w
    GradReducer reducer(comm, {{"w", w}, {"frozen", frozen}});
    CHECK(reducer.buckets().size() == 1);
    reducer.mark_ready(w);
    std::string t = loglin_test::error_message([&] { reducer.mark_ready(w); });
    std::string s = loglin_test::error_message([&] { reducer.mark_ready(Tensor::zeros({7})); });
    std::string f = loglin_test::error_message([&] { reducer.mark_ready(frozen); });
    f += " | " + loglin_test::error_message([&] { reducer.mark_ready(size_t{2}); });
    reducer.finish();
    std::lock_guard<std::mutex> lock(mu);
    got[r] = w.grad().to_vector<float>();
    twice[r] = t;
    stranger[r] = s + " | " + f;
  });
  for (int r = 0; r < 2; ++r) {
    CHECK(got[r] == std::vector<float>{2, 2, 2});  // (4 + 0) / 2
    CHECK(twice[r] == "[dist] grad reducer: parameter 'w' marked ready twice in one step (call finish() after each "
                      "backward)");
    CHECK(loglin_test::contains(stranger[r], "a tensor of shape [7] that is not one of the reducer's parameters"));
    CHECK(loglin_test::contains(stranger[r], "parameter 'frozen' does not require grad"));
    CHECK(loglin_test::contains(stranger[r], "parameter index 2, but the reducer has 2 parameters"));
  }
}

TEST_CASE("grad reducer: with grad-ready hooks the buckets launch during backward, gradients unchanged",
          "[distributed]") {
  for (DType dtype : {DType::f32, DType::f64}) {
    const auto ref = reference_grads(dtype);
    const double tol = dtype == DType::f32 ? 1e-6 : 1e-13;
    for (int world : {1, 2, 3}) {
      INFO(dtype_name(dtype) << ", world " << world);
      const Data d = make_data(dtype);
      std::vector<RankResult> res(static_cast<size_t>(world));
      std::vector<int64_t> launched_when_fc1_ready(static_cast<size_t>(world), -1);
      std::vector<int64_t> calls_before_finish(static_cast<size_t>(world), -1);
      std::vector<int64_t> launched_before_finish(static_cast<size_t>(world), -1);
      std::mutex mu;
      run_in_process(world, [&](Communicator& comm) {
        const int r = comm.rank();
        Generator gen(r == 0 ? 1 : 1000 + r);
        Net net(gen);
        net.to(dtype);
        comm.broadcast(net.parameters());
        GradReducer reducer(comm, net.named_parameters(), GradReducerOptions{0.0002, ReduceOp::average});
        REQUIRE(reducer.buckets().size() == 4);  // one per parameter
        // A probe that runs before the reducer's own hook on the first layer's
        // weight, the last gradient the backward finishes: the second layer's
        // buckets must already be on their way.
        int64_t probe = -1;
        auto probe_hook = autograd::on_grad_ready(net.fc1->weight, [&](const Tensor&) {
          probe = reducer.buckets_launched();
        });
        auto hooks = reducer.install_ready_hooks();
        CHECK(hooks.size() == 4);
        BatchShard shard(r, world);
        cross_entropy(net.forward(shard.slice(d.x)), shard.slice(d.y)).backward();
        const int64_t launched = reducer.buckets_launched(), calls = comm.stats().all_reduce_calls;
        reducer.finish();
        RankResult out;
        out.grads = grads_of(net);
        out.calls_after_step = comm.stats().all_reduce_calls;
        out.buckets = static_cast<int64_t>(reducer.buckets().size());
        std::lock_guard<std::mutex> lock(mu);
        res[static_cast<size_t>(r)] = std::move(out);
        launched_when_fc1_ready[static_cast<size_t>(r)] = probe;
        launched_before_finish[static_cast<size_t>(r)] = launched;
        calls_before_finish[static_cast<size_t>(r)] = calls;
      });
      for (int r = 0; r < world; ++r) {
        INFO("rank " << r);
        CHECK(launched_when_fc1_ready[r] >= 2);  // fc2's two buckets went out mid-backward
        CHECK(launched_when_fc1_ready[r] < 4);
        CHECK(launched_before_finish[r] == 4);  // every bucket launched by the end of backward
        CHECK(calls_before_finish[r] == 4);
        CHECK(res[r].calls_after_step == 4);  // finish() launched nothing more
        CHECK(rel_err(res[r].grads, ref) < tol);
        CHECK(res[r].grads == res[0].grads);
      }
    }
  }
}

TEST_CASE("grad reducer: hooks under no_sync keep quiet, and the step after communicates once", "[distributed]") {
  const auto ref = reference_grads(DType::f64);
  std::vector<RankResult> res(2);
  std::mutex mu;
  const Data d = make_data(DType::f64);
  run_in_process(2, [&](Communicator& comm) {
    const int r = comm.rank();
    Generator gen(1);
    Net net(gen);
    net.to(DType::f64);
    GradReducer reducer(comm, net.named_parameters(), GradReducerOptions{0.0002, ReduceOp::average});
    auto hooks = reducer.install_ready_hooks();
    BatchShard shard(r, 2);
    const Tensor x = shard.slice(d.x), y = shard.slice(d.y);
    const int64_t rows = x.size(0) / 2;
    RankResult out;
    for (int a = 0; a < 2; ++a) {
      std::optional<GradReducer::NoSync> quiet;
      if (a == 0) quiet.emplace(reducer);
      mul(cross_entropy(net.forward(x.narrow(0, a * rows, rows)), y.narrow(0, a * rows, rows)), 0.5).backward();
      if (a == 0) out.calls_after_first_micro_step = comm.stats().all_reduce_calls;
      reducer.finish();
    }
    out.calls_after_step = comm.stats().all_reduce_calls;
    out.grads = grads_of(net);
    std::lock_guard<std::mutex> lock(mu);
    res[static_cast<size_t>(r)] = std::move(out);
  });
  for (int r = 0; r < 2; ++r) {
    INFO("rank " << r);
    CHECK(res[r].calls_after_first_micro_step == 0);
    CHECK(res[r].calls_after_step == 4);
    CHECK(rel_err(res[r].grads, ref) < 1e-13);
  }
}

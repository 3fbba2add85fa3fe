// The in-process communicator: all_reduce (sum, average) over 1 to 4 ranks,
// its fixed rank order (bit-identical everywhere, every time), broadcast,
// barrier, call counts, and errors that reach every rank instead of a hang.
#include <cstring>
#include <mutex>

#include "core/rng.h"
#include "distributed/in_process_communicator.h"
#include "test_util.h"

using namespace loglin;
using namespace loglin::dist;

namespace {
// Per-rank results collected from the rank threads.
template <class T>
struct PerRank {
  std::mutex mu;
  std::vector<T> v;
  explicit PerRank(int n) : v(static_cast<size_t>(n)) {}
  void set(int r, T x) {
    std::lock_guard<std::mutex> lock(mu);
    v[static_cast<size_t>(r)] = std::move(x);
  }
};

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}
}  // namespace

TEST_CASE("in-process all_reduce sums and averages over 1 to 4 ranks", "[distributed]") {
  for (int n = 1; n <= 4; ++n) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::average}) {
      INFO("world " << n << ", " << reduce_op_name(op));
      PerRank<std::vector<float>> got32(n);
      PerRank<std::vector<double>> got64(n);
      PerRank<CommStats> stats(n);
      run_in_process(n, [&](Communicator& comm) {
        const int r = comm.rank();
        CHECK(comm.world_size() == n);
        CHECK(comm.backend() == "in_process");
        // Rank r holds (r + 1) * (i + 1) (f32, 2x3) and r - i / 2 (f64, 5).
        std::vector<float> a(6);
        std::vector<double> b(5);
        for (int i = 0; i < 6; ++i) a[i] = static_cast<float>((r + 1) * (i + 1));
        for (int i = 0; i < 5; ++i) b[i] = r - i / 2.0;
        Tensor ta = Tensor::from_vector(a, {2, 3}), tb = Tensor::from_vector(b, {5});
        comm.all_reduce({ta, tb}, op);
        got32.set(r, ta.to_vector<float>());
        got64.set(r, tb.to_vector<double>());
        stats.set(r, comm.stats());
      });
      const double tri = n * (n + 1) / 2.0;  // 1 + 2 + ... + n
      for (int r = 0; r < n; ++r) {
        for (int i = 0; i < 6; ++i) {
          const float s = static_cast<float>(tri * (i + 1));
          CHECK(got32.v[r][i] == (op == ReduceOp::sum ? s : s / static_cast<float>(n)));
        }
        for (int i = 0; i < 5; ++i) {
          const double s = (n - 1) * n / 2.0 - n * (i / 2.0);
          LL_CHECK_NEAR(got64.v[r][i], op == ReduceOp::sum ? s : s / n, 1e-12);
        }
        CHECK(stats.v[r].all_reduce_calls == 1);  // a list is one collective
        CHECK(stats.v[r].all_reduce_bytes == 6 * 4 + 5 * 8);
      }
    }
  }
}

TEST_CASE("in-process all_reduce adds in rank order 0 to N-1", "[distributed]") {
  // In f32, ((1e8 + 1) - 1e8) + 1 is 1, but 1e8 - 1e8 + 1 + 1 would be 2: the
  // result shows the order.
  const std::vector<float> vals = {1e8f, 1.0f, -1e8f, 1.0f};
  PerRank<float> got(4);
  run_in_process(4, [&](Communicator& comm) {
    Tensor t = Tensor::from_vector(std::vector<float>{vals[comm.rank()]}, {1});
    comm.all_reduce(t, ReduceOp::sum);
    got.set(comm.rank(), t.to_vector<float>()[0]);
  });
  for (float v : got.v) CHECK(v == 1.0f);
}

TEST_CASE("in-process all_reduce is bit-identical on every rank and every run", "[distributed]") {
  for (int n = 2; n <= 4; ++n) {
    auto once = [&] {
      PerRank<std::vector<float>> got(n);
      run_in_process(n, [&](Communicator& comm) {
        Generator gen(100 + comm.rank());
        Tensor t = randn({1000}, DType::f32, gen);
        comm.all_reduce(t, ReduceOp::average);
        got.set(comm.rank(), t.to_vector<float>());
      });
      return got.v;
    };
    auto first = once(), second = once();
    for (int r = 0; r < n; ++r) {
      CHECK(same_bits(first[r], first[0]));
      CHECK(same_bits(second[r], first[0]));
    }
    // And the bits are those of the sum in rank order.
    std::vector<float> expect(1000, 0.0f);
    for (int r = 0; r < n; ++r) {
      Generator gen(100 + r);
      std::vector<float> x = randn({1000}, DType::f32, gen).to_vector<float>();
      for (size_t i = 0; i < x.size(); ++i) expect[i] = r == 0 ? x[i] : expect[i] + x[i];
    }
    for (float& e : expect) e /= static_cast<float>(n);
    CHECK(same_bits(first[0], expect));
  }
}

TEST_CASE("in-process broadcast copies the root's tensors, barrier and calls are counted", "[distributed]") {
  for (int root : {0, 2}) {
    PerRank<std::vector<float>> got(3);
    PerRank<CommStats> stats(3);
    run_in_process(3, [&](Communicator& comm) {
      const float r = static_cast<float>(comm.rank());
      Tensor a = Tensor::full({4}, r), b = Tensor::full({2, 2}, 10 + r);
      comm.broadcast({a, b}, root);
      comm.barrier();
      comm.barrier();
      std::vector<float> v = a.to_vector<float>();
      for (float x : b.to_vector<float>()) v.push_back(x);
      got.set(comm.rank(), v);
      stats.set(comm.rank(), comm.stats());
    });
    const float rf = static_cast<float>(root);
    for (int r = 0; r < 3; ++r) {
      CHECK(got.v[r] == std::vector<float>{rf, rf, rf, rf, 10 + rf, 10 + rf, 10 + rf, 10 + rf});
      CHECK(stats.v[r].broadcast_calls == 1);
      CHECK(stats.v[r].barrier_calls == 2);
      CHECK(stats.v[r].all_reduce_calls == 0);
    }
  }
}

TEST_CASE("in-process collectives: a bad call throws the same error on every rank", "[distributed]") {
  PerRank<std::string> msg(3), bad_dtype(3), after(3);
  run_in_process(3, [&](Communicator& comm) {
    const int r = comm.rank();
    // Rank 2 passes 5 elements where the others pass 4.
    Tensor t = Tensor::ones({r == 2 ? 5 : 4});
    msg.set(r, loglin_test::error_message([&] { comm.all_reduce(t, ReduceOp::sum); }));
    // Only rank 1 passes an integer tensor.
    Tensor u = r == 1 ? Tensor::zeros({3}, DType::i64) : Tensor::zeros({3});
    bad_dtype.set(r, loglin_test::error_message([&] { comm.all_reduce(u, ReduceOp::sum); }));
    // The group still works afterwards.
    Tensor w = Tensor::full({2}, r);
    comm.all_reduce(w, ReduceOp::sum);
    after.set(r, fmt::format("{}", w.to_vector<float>()[0]));
  });
  for (int r = 0; r < 3; ++r) {
    CHECK(msg.v[r] == "[dist] all_reduce: tensor 0 is [4] f32 on rank 0 but [5] f32 on rank 2");
    CHECK(bad_dtype.v[r] == "[dist] all_reduce: tensor 0 is i64; collectives take f32 or f64 (on rank 1)");
    CHECK(after.v[r] == "3");
  }
}

TEST_CASE("in-process: a failed or finished rank ends the others' collectives instead of a hang", "[distributed]") {
  // Rank 1 fails before the collective: rank 0's all_reduce throws, naming it.
  std::string m = loglin_test::error_message([] {
    run_in_process(2, [](Communicator& comm) {
      if (comm.rank() == 1) LOGLIN_FAIL("[test] rank one broke");
      comm.all_reduce(Tensor::ones({3}), ReduceOp::sum);
    });
  });
  INFO(m);
  CHECK(loglin_test::contains(m, "rank 0: a collective cannot complete because rank 1 failed: [test] rank one broke"));
  // Rank 0 calls one collective fewer than the others.
  m = loglin_test::error_message([] {
    run_in_process(3, [](Communicator& comm) {
      comm.barrier();
      if (comm.rank() != 0) comm.barrier();
    });
  });
  INFO(m);
  CHECK(loglin_test::contains(m, "because rank 0 returned (the ranks called different collectives)"));
  LL_CHECK_ERROR(run_in_process(0, [](Communicator&) {}), "world size 0");
}

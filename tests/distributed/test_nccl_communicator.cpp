// NcclCommunicator on real GPUs: one rank on one GPU (any CUDA machine with
// NCCL), and one rank per GPU as threads of this process where there are
// two or more. Without NCCL in the build, creating one is a clear error.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "catch.h"
#include "core/device.h"
#include "distributed/grad_reducer.h"
#include "distributed/nccl_communicator.h"
#include "distributed/shard.h"
#include "nn/layers/linear.h"
#include "ops/ops.h"
#include "test_util.h"
#include "two_layer_net.h"

using namespace loglin;

namespace {

std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("loglin_nccl_" + name + "_" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to(Device::cpu()).to_vector<double>(), y = b.to(Device::cpu()).to_vector<double>();
  double m = x.size() == y.size() ? 0.0 : 1e300;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

}  // namespace

TEST_CASE("nccl communicator: one rank on one GPU reduces, broadcasts and checks its tensors", "[cuda][distributed]") {
  LOGLIN_REQUIRE_CUDA();
  const std::string dir = fresh_dir("one");
  if (!dist::nccl_available()) {
    CHECK(loglin_test::contains(loglin_test::error_message([&] { dist::NcclCommunicator::create(0, 1, 0, {dir}); }),
                                "no NCCL"));
    return;
  }
  auto comm = dist::NcclCommunicator::create(0, 1, 0, {dir});
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(dir) / "nccl_unique_id"));  // removed once the group formed
  CHECK(comm->rank() == 0);
  CHECK(comm->world_size() == 1);
  CHECK(comm->backend() == "nccl");
  Generator gen(7);
  const Tensor a = randn({1000}, DType::f32, gen).to(Device::cuda());
  const Tensor b = randn({3, 5}, DType::f64, gen).to(Device::cuda());
  Tensor x = a.clone(), y = b.clone();
  comm->all_reduce({x, y}, dist::ReduceOp::sum);  // one rank: the sum is the tensor itself
  CHECK(max_abs_diff(x, a) == 0.0);
  CHECK(max_abs_diff(y, b) == 0.0);
  comm->all_reduce(x, dist::ReduceOp::average);
  CHECK(max_abs_diff(x, a) < 1e-7);
  comm->broadcast({x, y});
  CHECK(max_abs_diff(y, b) == 0.0);
  comm->barrier();
  // Asynchronous: a buffer a kernel fills just before (the side stream must
  // wait for it), read after wait_all() (the device's stream waits in turn).
  Tensor z = mul(a, 3.0);
  comm->all_reduce_async(z, dist::ReduceOp::sum);
  comm->wait_all();
  CHECK(max_abs_diff(z, mul(a, 3.0)) == 0.0);
  comm->wait_all();  // nothing pending: a no-op
  CHECK(comm->stats().all_reduce_calls == 3);
  CHECK(comm->stats().broadcast_calls == 1);
  CHECK(comm->stats().barrier_calls == 1);
  CHECK(comm->stats().all_reduce_bytes == 2 * 1000 * 4 + 15 * 8 + 1000 * 4);
  // Tensors on the CPU or in bf16 are refused by name.
  CHECK(loglin_test::contains(
      loglin_test::error_message([&] { comm->all_reduce(randn({4}, DType::f32, gen), dist::ReduceOp::sum); }), "cuda:0"));
  CHECK(loglin_test::contains(loglin_test::error_message([&] {
                                comm->all_reduce(Tensor::zeros({4}, DType::bf16, Device::cuda()), dist::ReduceOp::sum);
                              }),
                              "bf16"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("nccl communicator: one rank per GPU as threads, sums and averages agree across ranks",
          "[cuda][distributed]") {
  LOGLIN_REQUIRE_CUDA();
  const int n = cuda_device_count();
  if (n < 2 || !dist::nccl_available()) {
    std::cout << "skipped: needs 2 CUDA devices and NCCL (this machine: " << n << ")" << std::endl;
    return;
  }
  const std::string dir = fresh_dir("many");
  std::vector<Tensor> got(n);
  std::vector<std::string> errors(n);
  std::vector<std::thread> ranks;
  for (int r = 0; r < n; ++r)
    ranks.emplace_back([&, r] {
      try {
        auto comm = dist::NcclCommunicator::create(r, n, r, {dir});
        Tensor t = Tensor::full({257}, static_cast<double>(r + 1), DType::f32, Device::cuda(r));
        comm->all_reduce(t, dist::ReduceOp::average);
        comm->barrier();
        got[r] = t.to(Device::cpu());
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : ranks) t.join();
  const double want = (n + 1) / 2.0;  // the average of 1 .. n
  for (int r = 0; r < n; ++r) {
    INFO("rank " << r << " " << errors[r]);
    REQUIRE(errors[r].empty());
    for (double v : got[r].to_vector<double>()) CHECK(v == Approx(want));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("nccl communicator: joining without a GPU, or with a bad rank, is a clear error", "[distributed]") {
  const std::string dir = fresh_dir("bad");
  CHECK(loglin_test::contains(loglin_test::error_message([&] { dist::NcclCommunicator::create(2, 2, 0, {dir}); }),
                              dist::nccl_available() ? "rank 2 of world size 2" : "no NCCL"));
  if (!cuda_is_available()) {
    const std::string msg = loglin_test::error_message([&] { dist::NcclCommunicator::create(0, 1, 0, {dir}); });
    CHECK(loglin_test::contains(msg, dist::nccl_available() ? "asks for GPU 0" : "no NCCL"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("nccl rendezvous: clearing creates the directory and removes a previous run's id", "[distributed]") {
  loglin_test::TempDir tmp("rdv");
  const auto dir = tmp.path / "run" / "rendezvous";
  dist::clear_rendezvous({dir.string()});
  CHECK(std::filesystem::is_directory(dir));
  for (const char* stale : {"nccl_unique_id", "nccl_unique_id.tmp", "keep.txt"}) std::ofstream(dir / stale) << "old";
  dist::clear_rendezvous({dir.string()});
  CHECK(!std::filesystem::exists(dir / "nccl_unique_id"));
  CHECK(!std::filesystem::exists(dir / "nccl_unique_id.tmp"));
  CHECK(std::filesystem::exists(dir / "keep.txt"));  // only the id is ours to remove
  CHECK(loglin_test::contains(loglin_test::error_message([] { dist::clear_rendezvous({""}); }),
                              "needs a directory shared by all ranks"));
}

namespace {

using TwoLayer = dp_test::TwoLayerNet;  // on the CPU until moved

// The gradients of a data-parallel step over `world` GPUs (one thread each,
// NCCL, buckets launched from the grad-ready hooks), rank 0's, on the CPU.
std::vector<std::vector<double>> nccl_dp_grads(int world, const Tensor& x, const Tensor& y, std::string& error) {
  const std::string dir = fresh_dir("dp" + std::to_string(world));
  std::vector<std::vector<std::vector<double>>> grads(world);
  std::vector<std::string> errors(world);
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      try {
        auto comm = dist::NcclCommunicator::create(r, world, r, {dir});
        Generator gen(r == 0 ? 1 : 100 + r);  // the broadcast makes every rank rank 0's
        TwoLayer net(gen);
        net.to(Device::cuda(r));
        comm->broadcast(net.parameters());
        dist::GradReducer reducer(*comm, net.named_parameters(), dist::GradReducerOptions{0.0002});  // 4 buckets
        auto hooks = reducer.install_ready_hooks();
        dist::BatchShard shard(r, world);
        cross_entropy(net.forward(shard.slice(x).to(Device::cuda(r))), shard.slice(y).to(Device::cuda(r))).backward();
        reducer.finish();
        for (const Tensor& p : net.parameters()) grads[r].push_back(p.grad().to(Device::cpu()).to_vector<double>());
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  for (auto& t : ranks) t.join();
  std::filesystem::remove_all(dir);
  for (int r = 0; r < world; ++r)
    if (!errors[r].empty()) error += "rank " + std::to_string(r) + ": " + errors[r] + "; ";
  for (int r = 1; r < world; ++r)
    if (grads[r] != grads[0]) error += "rank " + std::to_string(r) + "'s gradients differ from rank 0's; ";
  return grads[0];
}

}  // namespace

TEST_CASE("nccl communicator: a data-parallel step with hooks gives the whole-batch gradient", "[cuda][distributed]") {
  LOGLIN_REQUIRE_CUDA();
  if (!dist::nccl_available()) {
    std::cout << "skipped: needs NCCL" << std::endl;
    return;
  }
  Generator data_gen(5);
  const Tensor x = randn({24, 6}, DType::f32, data_gen), y = randint(0, 5, {24}, DType::i64, data_gen);
  std::vector<std::vector<double>> ref;
  {
    Generator gen(1);
    TwoLayer net(gen);
    cross_entropy(net.forward(x), y).backward();
    for (const Tensor& p : net.parameters()) ref.push_back(p.grad().to_vector<double>());
  }
  const int n = cuda_device_count();
  for (int world : {1, 2, 3, 4}) {
    if (world > n || 24 % world != 0) continue;
    INFO("world " << world);
    std::string error;
    const auto got = nccl_dp_grads(world, x, y, error);
    REQUIRE(error.empty());
    REQUIRE(got.size() == ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      INFO("parameter " << i);
      const Tensor a = Tensor::from_vector(got[i], {static_cast<int64_t>(got[i].size())});
      const Tensor b = Tensor::from_vector(ref[i], {static_cast<int64_t>(ref[i].size())});
      CHECK(loglin_test::rel_err(a, b) < 1e-4);  // the GPU's f32 against the CPU's
    }
  }
}

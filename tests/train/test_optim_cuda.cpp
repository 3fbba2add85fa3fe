// The fused CUDA optimizer steps and gradient clipping against the CPU loops:
// AdamW (two decay groups, bias correction) and SGD over N steps with
// changing learning rates, parameters of many chunks, odd sizes and one
// without a gradient; state_dict from the GPU through a safetensors file and
// back; clip_grad_norm's norm and scaling, including non-finite gradients.
#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "test_util.h"
#include "train/checkpoint/safetensors.h"
#include "train/optim/optimizer.h"

using namespace loglin;
using loglin_test::rel_err;

namespace {

// Names and shapes that land in both decay groups (decay_groups puts matrices
// in one, vectors and embeddings in the other); "big.weight" spans several
// chunks and ends in a partial one.
const std::vector<std::pair<std::string, Shape>> kParams = {
    {"big.weight", {700, 300}}, {"big.bias", {300}},  {"embed.weight", {1000, 64}},
    {"norm.weight", {64}},      {"odd.weight", {3, 7}}, {"unused.weight", {10, 10}}};

optim::NamedParams make_params(Device device) {
  Generator gen(21);
  optim::NamedParams out;
  for (const auto& [name, shape] : kParams) {
    Tensor t = randn(shape, DType::f32, gen).to(device).detach();
    t.set_requires_grad(true);
    out.emplace_back(name, t);
  }
  return out;
}

// The same fresh gradients on both sides; "unused.weight" never gets one.
void set_grads(optim::NamedParams& params, uint64_t seed) {
  Generator gen(seed);
  for (auto& [name, t] : params) {
    Tensor g = randn(t.shape(), DType::f32, gen);
    if (name == "unused.weight") continue;
    t.set_grad(g.to(t.device()).detach());
  }
}

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const optim::NamedParams&)>;

void check_same_params(const optim::NamedParams& gpu, const optim::NamedParams& cpu, double tol) {
  for (size_t i = 0; i < gpu.size(); ++i) {
    INFO(gpu[i].first);
    CHECK(gpu[i].second.device().is_cuda());
    CHECK(rel_err(gpu[i].second, cpu[i].second) < tol);
  }
}

void check_same_state(const optim::Optimizer& gpu, const optim::Optimizer& cpu, double tol) {
  auto gs = gpu.state_dict(), cs = cpu.state_dict();
  REQUIRE(gs.size() == cs.size());
  for (const auto& [key, t] : cs) {
    INFO(key);
    REQUIRE(gs.count(key) == 1);
    if (key == "step") {
      CHECK(gs.at(key).item() == t.item());
      continue;
    }
    CHECK(gs.at(key).device().is_cuda());
    CHECK(rel_err(gs.at(key), t) < tol);
  }
}

// N steps on cuda and on the cpu from the same parameters and gradients; then
// the GPU state goes through a safetensors file into a fresh CPU optimizer
// and both take more steps.
void check_optimizer(const MakeOptimizer& make, int n_steps) {
  optim::NamedParams gpu_params = make_params(Device::cuda()), cpu_params = make_params(Device::cpu());
  auto gpu = make(gpu_params);
  auto cpu = make(cpu_params);
  for (int s = 0; s < n_steps; ++s) {
    set_grads(gpu_params, 100 + s);
    set_grads(cpu_params, 100 + s);
    const double lr = 1e-2 * (1.0 + 0.1 * s);
    gpu->step(lr);
    cpu->step(lr);
  }
  check_same_params(gpu_params, cpu_params, 1e-5);
  check_same_state(*gpu, *cpu, 1e-5);
  for (const auto& [name, t] : gpu_params)
    if (name == "unused.weight") CHECK(rel_err(t, make_params(Device::cpu()).back().second) == 0);

  loglin_test::TempDir dir("optim_cuda");
  save_safetensors(dir.path / "optimizer.safetensors", gpu->state_dict());
  optim::NamedParams resumed_params = make_params(Device::cpu());
  for (size_t i = 0; i < resumed_params.size(); ++i)
    core::copy_into(resumed_params[i].second, gpu_params[i].second);
  auto resumed = make(resumed_params);
  resumed->load_state_dict(load_safetensors(dir.path / "optimizer.safetensors").tensors);
  CHECK(resumed->steps_taken() == n_steps);
  for (int s = n_steps; s < n_steps + 3; ++s) {
    set_grads(gpu_params, 100 + s);
    set_grads(resumed_params, 100 + s);
    gpu->step(1e-2);
    resumed->step(1e-2);
  }
  for (size_t i = 0; i < gpu_params.size(); ++i) {
    INFO(gpu_params[i].first << " after resuming");
    CHECK(rel_err(gpu_params[i].second, resumed_params[i].second) < 1e-5);
  }
}

}  // namespace

TEST_CASE("cuda: AdamW steps match the cpu, and its state resumes from a file", "[cuda][optim]") {
  LOGLIN_REQUIRE_CUDA();
  check_optimizer(
      [](const optim::NamedParams& p) {
        return std::make_unique<optim::AdamW>(optim::decay_groups(p, 0.1, false),
                                              optim::AdamWOptions{0.9, 0.95, 1e-8});
      },
      20);
}

TEST_CASE("cuda: SGD steps match the cpu, and its state resumes from a file", "[cuda][optim]") {
  LOGLIN_REQUIRE_CUDA();
  check_optimizer([](const optim::NamedParams& p) { return std::make_unique<optim::SGD>(optim::decay_groups(p, 0.1, false), 0.9); },
                  20);
}

TEST_CASE("cuda: optimizer state follows parameters moved to the gpu after it was built", "[cuda][optim]") {
  LOGLIN_REQUIRE_CUDA();
  optim::NamedParams cpu_params = make_params(Device::cpu()), moved = make_params(Device::cpu());
  optim::AdamW cpu(optim::decay_groups(cpu_params, 0.1, false));
  optim::AdamW gpu(optim::decay_groups(moved, 0.1, false));
  for (auto& [name, t] : moved) {
    Tensor on_gpu = t.to(Device::cuda()).detach();
    t.impl().storage = on_gpu.impl().storage;  // what Module::to(device) does to a parameter in place
    t.impl().offset = on_gpu.offset();
  }
  REQUIRE(moved[0].second.device().is_cuda());
  for (int s = 0; s < 3; ++s) {
    set_grads(cpu_params, 300 + s);
    set_grads(moved, 300 + s);
    cpu.step(1e-2);
    gpu.step(1e-2);
  }
  check_same_params(moved, cpu_params, 1e-5);
}

TEST_CASE("cuda: clip_grad_norm matches the cpu", "[cuda][optim]") {
  LOGLIN_REQUIRE_CUDA();
  // More than one block's worth of chunks, so the partial sums take several
  // passes of the final reduction.
  const std::vector<Shape> shapes = {{4500, 4000}, {300}, {3, 7}, {1000, 64}, {1}};
  Generator gen(31);
  std::vector<Tensor> cpu, gpu;
  for (const Shape& s : shapes) {
    Tensor p = Tensor::zeros(s);
    p.set_requires_grad(true);
    p.set_grad(randn(s, DType::f32, gen));
    Tensor q = Tensor::zeros(s, DType::f32, Device::cuda());
    q.set_requires_grad(true);
    q.set_grad(p.grad().to(Device::cuda()).detach());
    cpu.push_back(p);
    gpu.push_back(q);
  }
  Tensor no_grad = Tensor::zeros({5}, DType::f32, Device::cuda());
  no_grad.set_requires_grad(true);
  gpu.push_back(no_grad);

  SECTION("no clipping below the limit") {
    const double n_cpu = optim::clip_grad_norm(cpu, 1e9), n_gpu = optim::clip_grad_norm(gpu, 1e9);
    CHECK(std::abs(n_gpu - n_cpu) <= 1e-12 * n_cpu);
    for (size_t i = 0; i < cpu.size(); ++i) CHECK(rel_err(gpu[i].grad(), cpu[i].grad()) == 0);
  }
  SECTION("scaled to the limit") {
    const double n_cpu = optim::clip_grad_norm(cpu, 1.0), n_gpu = optim::clip_grad_norm(gpu, 1.0);
    CHECK(std::abs(n_gpu - n_cpu) <= 1e-12 * n_cpu);
    for (size_t i = 0; i < cpu.size(); ++i) CHECK(rel_err(gpu[i].grad(), cpu[i].grad()) < 1e-6);
    double sq = 0;
    for (const Tensor& t : gpu)
      if (t.grad().defined())
        for (double v : t.grad().to_vector<double>()) sq += v * v;
    CHECK(std::abs(std::sqrt(sq) - 1.0) < 1e-4);
  }
  SECTION("max_norm <= 0 only measures") {
    const double n_cpu = optim::clip_grad_norm(cpu, 0), n_gpu = optim::clip_grad_norm(gpu, 0);
    CHECK(std::abs(n_gpu - n_cpu) <= 1e-12 * n_cpu);
    for (size_t i = 0; i < cpu.size(); ++i) CHECK(rel_err(gpu[i].grad(), cpu[i].grad()) == 0);
  }
  for (double bad : {NAN, INFINITY}) {
    // rel_err never passes NaN, so compare through the finite elements.
    auto finite_part = [](const Tensor& g) {
      std::vector<float> v = g.to_vector<float>();
      for (float& x : v)
        if (!std::isfinite(x)) x = 0;
      return Tensor::from_vector(v, g.shape());
    };
    SECTION(std::string("a non-finite gradient scales nothing: ") + (std::isnan(bad) ? "nan" : "inf")) {
      for (auto* side : {&cpu, &gpu}) {
        Tensor g = (*side)[3].grad();
        Tensor h = g.to(Device::cpu()).contiguous();
        h.data<float>()[17] = static_cast<float>(bad);
        (*side)[3].set_grad(h.to(g.device()).detach());
      }
      std::vector<Tensor> before;
      for (const Tensor& t : gpu)
        if (t.grad().defined()) before.push_back(finite_part(t.grad()));
      const double n_cpu = optim::clip_grad_norm(cpu, 1.0), n_gpu = optim::clip_grad_norm(gpu, 1.0);
      CHECK(!std::isfinite(n_cpu));
      CHECK(!std::isfinite(n_gpu));
      CHECK(std::isnan(n_cpu) == std::isnan(n_gpu));
      size_t k = 0;
      for (const Tensor& t : gpu)
        if (t.grad().defined()) CHECK(rel_err(finite_part(t.grad()), before[k++]) == 0);
    }
  }
}

// Training-like loops must not leak: the host allocator's counters are flat
// from step to step, and graphs that never run backward free themselves.
#include "autograd/grad_mode.h"
#include "core/allocator.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

namespace {

// One step: loss = mean(tanh(x @ W)^2) + sum(W*W) * 1e-4, backward, SGD update.
double train_step(Tensor& W, Generator& gen) {
  W.zero_grad();
  Tensor x = randn({16, 64}, DType::f32, gen);
  Tensor h = tanh(x.matmul(W));
  Tensor loss = (h * h).mean() + (W * W).sum() * 1e-4;
  loss.backward();
  {
    NoGradGuard ng;
    core::copy_into(W, W - W.grad() * 0.01);
  }
  return loss.item();
}

}  // namespace

TEST_CASE("memory stays flat over 1000 training steps", "[autograd]") {
  Generator gen(17);
  Tensor W = (randn({64, 64}, DType::f32, gen) * 0.1).detach().set_requires_grad(true);
  MemoryStats at1{}, at10{};
  double first_loss = 0, loss = 0;
  for (int step = 1; step <= 1000; ++step) {
    loss = train_step(W, gen);
    if (step == 1) {
      at1 = cpu_memory_stats();
      first_loss = loss;
    }
    if (step == 10) at10 = cpu_memory_stats();
  }
  MemoryStats at1000 = cpu_memory_stats();
  CHECK(at1000.bytes_in_use == at10.bytes_in_use);
  CHECK(at1000.live_blocks == at10.live_blocks);
  CHECK(at1000.bytes_in_use == at1.bytes_in_use);
  CHECK(at1000.live_blocks == at1.live_blocks);
  CHECK(at1000.total_allocations > at10.total_allocations);  // the loop did allocate
  CHECK(W.grad().defined());
  CHECK(loss < first_loss);  // and it trained
}

TEST_CASE("a graph dropped without backward frees everything", "[autograd]") {
  Tensor x = Tensor::ones({8, 8}).set_requires_grad(true);
  const MemoryStats before = cpu_memory_stats();
  {
    // Ops that save their inputs and outputs for backward.
    Tensor a = exp(x) / (x + 1.0);
    Tensor b = tanh(a).matmul(sigmoid(x).transpose(0, 1));
    Tensor c = (sqrt(b * b + 1.0) - log(x + 2.0)).reshape({64}).slice(0, 0, 64, 2);
    Tensor d = relu(c).sum() + c.mean() + max(c);
    CHECK(d.requires_grad());
  }
  const MemoryStats after = cpu_memory_stats();
  CHECK(after.bytes_in_use == before.bytes_in_use);
  CHECK(after.live_blocks == before.live_blocks);
}

TEST_CASE("retained graphs are freed when their tensors go", "[autograd]") {
  Tensor x = Tensor::ones({8}).set_requires_grad(true);
  (x * x).sum().backward();  // the first gradient allocates x.grad
  const MemoryStats before = cpu_memory_stats();
  {
    Tensor y = (tanh(x) * exp(x)).sum();
    y.backward(Tensor(), true);
    y.backward(Tensor(), true);
  }
  x.zero_grad();
  (x * x).sum().backward();
  const MemoryStats after = cpu_memory_stats();
  CHECK(after.bytes_in_use == before.bytes_in_use);
  CHECK(after.live_blocks == before.live_blocks);
}

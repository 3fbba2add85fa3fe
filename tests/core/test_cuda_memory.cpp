// CUDA tensors: device memory, copies to and from the host, the caching
// allocator. Skipped where no GPU answers.
#include "catch.h"
#include "autograd/engine.h"
#include "core/cuda_memory.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace loglin;

TEST_CASE("cpu -> cuda -> cpu round-trips every dtype exactly", "[cuda]") {
  LOGLIN_REQUIRE_CUDA();
  for (DType dt : {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64}) {
    INFO(dtype_name(dt));
    Tensor x = randn({37, 5}).to(dt);
    Tensor d = x.to(Device::cuda());
    CHECK(d.device() == Device::cuda());
    CHECK(d.dtype() == dt);
    Tensor back = d.to(Device::cpu());
    CHECK(back.to_vector<double>() == x.to_vector<double>());
    CHECK(d.to_vector<double>() == x.to_vector<double>());  // to_vector reads through the host
  }
}

TEST_CASE("strided and converting copies to the GPU go through the host", "[cuda]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor x = randn({6, 4}).transpose(0, 1);  // not contiguous
  Tensor d = Tensor::empty({4, 6}, DType::f64, Device::cuda());
  core::copy_into(d, x);
  CHECK(d.to_vector<double>() == x.to_vector<double>());
  CHECK(Tensor::zeros({3, 3}, DType::f32, Device::cuda()).to_vector<float>() == std::vector<float>(9, 0.0f));
  CHECK(Tensor::full({2}, 2.5, DType::f32, Device::cuda()).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
  CHECK(Tensor::ones({2}, DType::f32, Device::cuda()).str().find("device=cuda:0") != std::string::npos);
}

TEST_CASE("on-device copies into and out of row windows match the host, every path", "[cuda]") {
  LOGLIN_REQUIRE_CUDA();
  // A [3, 40, W] buffer and windows of its last dim: starts 0 and 4 with
  // widths divisible by 4 take the vectorised inner-dim copy (also with a
  // dtype change and from a broadcast column); start 2, width 6 and the odd
  // row width W = 41 take the general strided copy.
  for (int64_t W : {40, 41}) {
    for (const auto& [start, width] : std::vector<std::pair<int64_t, int64_t>>{{0, 16}, {4, 32}, {2, 16}, {4, 6}}) {
      for (DType src_dt : {DType::f32, DType::bf16}) {
        INFO("W " << W << " start " << start << " width " << width << " src " << dtype_name(src_dt));
        Tensor src = randn({3, 40, width}).to(src_dt);
        Tensor host = Tensor::zeros({3, 40, W});
        core::copy_into(host.narrow(2, start, width), src);
        Tensor dev = Tensor::zeros({3, 40, W}, DType::f32, Device::cuda());
        core::copy_into(dev.narrow(2, start, width), src.to(Device::cuda()));
        CHECK(dev.to_vector<float>() == host.to_vector<float>());
        // And back out of the window into a dense bf16 tensor.
        Tensor out = Tensor::empty({3, 40, width}, DType::bf16, Device::cuda());
        core::copy_into(out, dev.narrow(2, start, width));
        CHECK(out.to_vector<float>() == host.narrow(2, start, width).to(DType::bf16).to_vector<float>());
        // A column broadcast along the window.
        Tensor col = randn({3, 40, 1});
        core::copy_into(host.narrow(2, start, width), col);
        core::copy_into(dev.narrow(2, start, width), col.to(Device::cuda()));
        CHECK(dev.to_vector<float>() == host.to_vector<float>());
      }
    }
  }
  // Gradient sums: 4-aligned and not, with a tail.
  for (int64_t n : {1, 4, 4099}) {
    Tensor a = randn({n}).to(Device::cuda()), b = randn({n}).to(Device::cuda());
    Tensor sum_ab = autograd::add_gradients(a, b);
    std::vector<float> av = a.to_vector<float>(), bv = b.to_vector<float>(), sv = sum_ab.to_vector<float>();
    for (int64_t i = 0; i < n; ++i) CHECK(sv[i] == av[i] + bv[i]);
    if (n > 4) {
      Tensor a1 = a.narrow(0, 1, n - 1), b1 = b.narrow(0, 1, n - 1);
      std::vector<float> s1 = autograd::add_gradients(a1, b1).to_vector<float>();
      for (int64_t i = 0; i + 1 < n; ++i) CHECK(s1[i] == av[i + 1] + bv[i + 1]);
    }
  }
}

TEST_CASE("gradients flow back through to(device)", "[cuda]") {
  LOGLIN_REQUIRE_CUDA();
  Tensor x = randn({3, 4}).set_requires_grad(true);
  Tensor y = x.to(Device::cuda()).to(Device::cpu());
  sum(y * y).backward();
  std::vector<float> g = x.grad().to_vector<float>(), xv = x.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) CHECK(g[i] == 2 * xv[i]);
}

TEST_CASE("the CUDA allocator reuses freed blocks and keeps stats", "[cuda]") {
  LOGLIN_REQUIRE_CUDA();
  cuda::empty_cache(0);
  const auto before = cuda::memory_stats(0);
  const void* first;
  {
    Tensor a = Tensor::empty({1024, 1024}, DType::f32, Device::cuda());
    first = a.raw_data();
    CHECK(cuda::memory_stats(0).bytes_in_use == before.bytes_in_use + 4 * 1024 * 1024);
  }
  CHECK(cuda::memory_stats(0).cached_bytes >= 4 * 1024 * 1024);
  for (int i = 0; i < 1000; ++i) {
    Tensor b = Tensor::empty({1024, 1024}, DType::f32, Device::cuda());
    if (i == 0) CHECK(b.raw_data() == first);
  }
  const auto after = cuda::memory_stats(0);
  CHECK(after.bytes_in_use == before.bytes_in_use);
  CHECK(after.total_allocations == before.total_allocations + 1001);
  cuda::empty_cache(0);
  CHECK(cuda::memory_stats(0).cached_bytes == 0);
}

TEST_CASE("CUDA errors name the problem", "[cuda]") {
  LOGLIN_REQUIRE_CUDA();
  LL_CHECK_ERROR(Tensor::empty({2}, DType::f32, Device::cuda(63)), "cuda:63 requested");
  Tensor d = randn({4, 4}).to(Device::cuda());
  LL_CHECK_ERROR(add(d, randn({4, 4})), "[add] tensors on cuda:0 and cpu");
  LL_CHECK_ERROR(core::copy_into(d, Tensor::empty({5}, DType::f32, Device::cuda())), "[copy] shapes [5] and [4, 4] cannot broadcast");
  // A strided copy on the device is a kernel now, not an error.
  CHECK(core::contiguous_copy(d.transpose(0, 1)).to_vector<float>() == d.transpose(0, 1).to_vector<float>());
}

// Device parsing, CUDA requests in CPU builds, and the host allocator's counters.
#include "core/allocator.h"
#include "core/device.h"
#include "core/tensor.h"
#include "test_util.h"

using namespace loglin;

TEST_CASE("Device::parse reads cpu, cuda and cuda:N", "[core]") {
  Device c = Device::parse("cpu");
  CHECK(c.is_cpu());
  CHECK_FALSE(c.is_cuda());
  CHECK(c.str() == "cpu");
  CHECK(c == Device::cpu());

  Device g = Device::parse("cuda");
  CHECK(g.is_cuda());
  CHECK(g.index == 0);
  CHECK(g.str() == "cuda:0");

  Device g1 = Device::parse("cuda:1");
  CHECK(g1.is_cuda());
  CHECK(g1.index == 1);
  CHECK(g1.str() == "cuda:1");
  CHECK(Device::parse(g1.str()) == g1);
  CHECK(Device::parse("cuda:12").index == 12);

  CHECK(Device::cuda(0) == Device::parse("cuda:0"));
  CHECK(Device::cuda(0) != Device::cuda(1));
  CHECK(Device::cpu() != Device::cuda(0));
}

TEST_CASE("Device::parse rejects malformed strings", "[core]") {
  for (const char* bad : {"", "gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", "cuda:1x", "cuda: 1", "cuda:+1", "cuda1",
                          "cpu:0", "cuda:99999999999999999999"}) {
    INFO("device string '" << bad << "'");
    LL_CHECK_ERROR(Device::parse(bad), "[device]");
  }
  LL_CHECK_ERROR(Device::parse("gpu"), "'gpu'");
}

TEST_CASE("asking for a cuda tensor without a CUDA backend is a clear error", "[core]") {
  if (built_with_cuda()) {
    CHECK(cuda_device_count() >= 0);
    return;  // CUDA builds test their tensors in the [cuda] tests
  }
  CHECK_FALSE(cuda_is_available());
  CHECK(cuda_device_count() == 0);
  LL_CHECK_ERROR(Tensor::zeros({2, 2}, DType::f32, Device::cuda()), "[tensor]");
  LL_CHECK_ERROR(Tensor::empty({2}, DType::f32, Device::parse("cuda:1")), "without CUDA");
  LL_CHECK_ERROR(Tensor::full({2}, 1.0, DType::f32, Device::cuda()), "cuda:0");
  LL_CHECK_ERROR(Tensor::ones({2}).to(Device::cuda()), "without CUDA");
}

TEST_CASE("host allocator counters follow tensor lifetimes", "[core]") {
  const MemoryStats before = cpu_memory_stats();
  {
    Tensor t = Tensor::empty({1000}, DType::f32);
    MemoryStats during = cpu_memory_stats();
    CHECK(during.bytes_in_use == before.bytes_in_use + 4000);
    CHECK(during.live_blocks == before.live_blocks + 1);
    CHECK(during.total_allocations == before.total_allocations + 1);
    CHECK(during.peak_bytes >= during.bytes_in_use);
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);

    // Views and handle copies allocate nothing.
    Tensor v = t.reshape({10, 100}).transpose(0, 1).narrow(0, 2, 5);
    Tensor copy = t;
    CHECK(cpu_memory_stats().bytes_in_use == during.bytes_in_use);
    CHECK(cpu_memory_stats().live_blocks == during.live_blocks);

    // A clone allocates, and frees when it goes.
    {
      Tensor c = t.to(DType::f64);
      CHECK(cpu_memory_stats().bytes_in_use == during.bytes_in_use + 8000);
    }
    CHECK(cpu_memory_stats().bytes_in_use == during.bytes_in_use);

    // The storage lives while any view of it does.
    t = Tensor();
    copy = Tensor();
    CHECK(cpu_memory_stats().bytes_in_use == during.bytes_in_use);
    v = Tensor();
  }
  const MemoryStats after = cpu_memory_stats();
  CHECK(after.bytes_in_use == before.bytes_in_use);
  CHECK(after.live_blocks == before.live_blocks);
  CHECK(after.total_allocations == before.total_allocations + 2);
}

TEST_CASE("peak memory can be reset", "[core]") {
  {
    Tensor big = Tensor::empty({1 << 16}, DType::f64);  // 512 KiB
    CHECK(cpu_memory_stats().peak_bytes >= cpu_memory_stats().bytes_in_use);
  }
  MemoryStats s = cpu_memory_stats();
  CHECK(s.peak_bytes >= s.bytes_in_use + (int64_t{1} << 19));
  reset_cpu_peak_memory();
  CHECK(cpu_memory_stats().peak_bytes == cpu_memory_stats().bytes_in_use);
  // Even zero-byte tensors get a block (and give it back).
  const MemoryStats before = cpu_memory_stats();
  {
    Tensor e = Tensor::empty({0});
    CHECK(cpu_memory_stats().live_blocks == before.live_blocks + 1);
  }
  CHECK(cpu_memory_stats().live_blocks == before.live_blocks);
}

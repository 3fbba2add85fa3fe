#include "catch.h"
#include "core/allocator.h"
#include "core/tensor.h"

using namespace loglin;

TEST_CASE("large freed blocks are cached and reused, small ones are not", "[core]") {
  cpu_empty_cache();
  const void* first;
  {
    Tensor big = Tensor::empty({256, 256});  // 256 KiB
    first = big.raw_data();
  }
  CHECK(cpu_memory_stats().cached_bytes >= 256 * 1024);
  {
    Tensor again = Tensor::empty({256, 256});
    CHECK(again.raw_data() == first);  // the same block back
    CHECK(cpu_memory_stats().cached_bytes == 0);
  }
  { Tensor small = Tensor::empty({16}); }
  CHECK(cpu_memory_stats().cached_bytes == 256 * 1024);
  cpu_empty_cache();
  CHECK(cpu_memory_stats().cached_bytes == 0);
}

// Host memory: 64-byte aligned blocks (so Eigen and SIMD loops get aligned
// rows) with counters, which the leak tests and the benchmarks read. Freed
// blocks of 64 KiB and more are cached for reuse (up to 2 GiB).
#pragma once
#include <cstddef>
#include <cstdint>

namespace loglin {

struct MemoryStats {
  int64_t bytes_in_use = 0;
  int64_t peak_bytes = 0;
  int64_t live_blocks = 0;
  int64_t total_allocations = 0;
  int64_t cached_bytes = 0;  // freed large blocks kept for reuse (not in bytes_in_use)
};

void* cpu_allocate(size_t nbytes);
void cpu_free(void* p, size_t nbytes);
MemoryStats cpu_memory_stats();
void reset_cpu_peak_memory();
// Returns the cached free blocks to the system.
void cpu_empty_cache();

}  // namespace loglin

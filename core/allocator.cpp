#include "core/allocator.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include "core/error.h"

namespace loglin {
namespace {
std::atomic<int64_t> g_in_use{0}, g_peak{0}, g_live{0}, g_total{0};
constexpr size_t kAlign = 64;
}  // namespace

void* cpu_allocate(size_t nbytes) {
  size_t rounded = (nbytes + kAlign - 1) / kAlign * kAlign;
  if (rounded == 0) rounded = kAlign;
  void* p = std::aligned_alloc(kAlign, rounded);
  LOGLIN_CHECK(p != nullptr, "[allocator] out of host memory allocating {} bytes", nbytes);
  int64_t now = g_in_use.fetch_add(static_cast<int64_t>(nbytes)) + static_cast<int64_t>(nbytes);
  int64_t peak = g_peak.load();
  while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
  }
  g_live.fetch_add(1);
  g_total.fetch_add(1);
  return p;
}

void cpu_free(void* p, size_t nbytes) {
  if (!p) return;
  std::free(p);
  g_in_use.fetch_sub(static_cast<int64_t>(nbytes));
  g_live.fetch_sub(1);
}

MemoryStats cpu_memory_stats() { return {g_in_use.load(), g_peak.load(), g_live.load(), g_total.load()}; }

void reset_cpu_peak_memory() { g_peak.store(g_in_use.load()); }

}  // namespace loglin

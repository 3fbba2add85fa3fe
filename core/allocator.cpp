#include "core/allocator.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include "core/error.h"

namespace loglin {
namespace {

std::atomic<int64_t> g_in_use{0}, g_peak{0}, g_live{0}, g_total{0};
constexpr size_t kAlign = 64;

// Large blocks are kept after free and handed out again for the same rounded
// size. Without this every big tensor is a fresh mmap whose pages fault in on
// first touch: a 1024 x 1024 matmul output cost ~15% of the product itself,
// and a training step allocates the same sizes every time.
constexpr size_t kCacheMinBytes = 64 * 1024;
constexpr size_t kCacheRound = 4096;
constexpr int64_t kCacheMaxBytes = int64_t{2} << 30;

struct BlockCache {
  std::mutex mu;
  std::map<size_t, std::vector<void*>> free_blocks;  // by rounded size
  int64_t cached_bytes = 0;
};
BlockCache& cache() {
  static BlockCache* c = new BlockCache();  // never destroyed: frees can come from static destructors
  return *c;
}

size_t rounded_size(size_t nbytes) {
  if (nbytes >= kCacheMinBytes) return (nbytes + kCacheRound - 1) / kCacheRound * kCacheRound;
  size_t r = (nbytes + kAlign - 1) / kAlign * kAlign;
  return r == 0 ? kAlign : r;
}

}  // namespace

void* cpu_allocate(size_t nbytes) {
  const size_t size = rounded_size(nbytes);
  void* p = nullptr;
  if (size >= kCacheMinBytes) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= static_cast<int64_t>(size);
    }
  }
  if (!p) p = std::aligned_alloc(kAlign, size);
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
  g_in_use.fetch_sub(static_cast<int64_t>(nbytes));
  g_live.fetch_sub(1);
  const size_t size = rounded_size(nbytes);
  if (size >= kCacheMinBytes) {
    BlockCache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached_bytes + static_cast<int64_t>(size) <= kCacheMaxBytes) {
      c.free_blocks[size].push_back(p);
      c.cached_bytes += static_cast<int64_t>(size);
      return;
    }
  }
  std::free(p);
}

MemoryStats cpu_memory_stats() {
  MemoryStats s{g_in_use.load(), g_peak.load(), g_live.load(), g_total.load(), 0};
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  s.cached_bytes = c.cached_bytes;
  return s;
}

void reset_cpu_peak_memory() { g_peak.store(g_in_use.load()); }

void cpu_empty_cache() {
  BlockCache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, blocks] : c.free_blocks)
    for (void* p : blocks) std::free(p);
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

}  // namespace loglin

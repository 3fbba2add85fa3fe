#include "train/checkpoint/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace loglin::io {

uint64_t fnv1a64(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

uint64_t fnv1a64_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  LOGLIN_CHECK(f, "[io] cannot open {}: {}", path.string(), std::strerror(errno));
  std::vector<char> buf(1 << 20);
  uint64_t h = kFnvOffset;
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), f)) > 0) h = fnv1a64(buf.data(), got, h);
  bool bad = std::ferror(f);
  std::fclose(f);
  LOGLIN_CHECK(!bad, "[io] error reading {}", path.string());
  return h;
}

std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

namespace {
std::filesystem::path temp_name(const std::filesystem::path& path) {
  // pid + counter: unique across processes and across threads of this one.
  static std::atomic<uint64_t> counter{0};
  return path.string() + fmt::format(".tmp.{}.{}", ::getpid(), counter++);
}
}  // namespace

void write_file_atomic(const std::filesystem::path& path, const std::function<void(const ChunkWriter&)>& write) {
  std::filesystem::path tmp = temp_name(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  LOGLIN_CHECK(f, "[io] cannot create {}: {}", tmp.string(), std::strerror(errno));
  try {
    write([&](const void* data, size_t n) {
      if (n && std::fwrite(data, 1, n, f) != n)
        LOGLIN_FAIL("[io] cannot write {}: {}", tmp.string(), std::strerror(errno));
    });
    if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0)
      LOGLIN_FAIL("[io] cannot flush {}: {}", tmp.string(), std::strerror(errno));
    std::FILE* done = f;
    f = nullptr;
    if (std::fclose(done) != 0) LOGLIN_FAIL("[io] cannot close {}: {}", tmp.string(), std::strerror(errno));
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) LOGLIN_FAIL("[io] cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
  } catch (...) {
    if (f) std::fclose(f);
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  write_file_atomic(path, [&](const ChunkWriter& put) { put(bytes.data(), bytes.size()); });
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LOGLIN_CHECK(in, "[io] cannot open {}", path.string());
  std::string s;
  in.seekg(0, std::ios::end);
  s.resize(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  LOGLIN_CHECK(in.good() || s.empty(), "[io] error reading {}", path.string());
  return s;
}

void sync_dir(const std::filesystem::path& dir) {
  // Best effort: some filesystems refuse fsync on directories.
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace loglin::io

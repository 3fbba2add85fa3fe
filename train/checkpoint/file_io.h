// File helpers shared by checkpoints and the token cache: an atomic write
// (temporary file, flush, fsync, rename) so readers never see half a file,
// and FNV-1a 64, a checksum cheap enough to run over every saved byte.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace loglin::io {

// FNV-1a 64; pass the previous result as `h` to hash in pieces.
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
uint64_t fnv1a64(const void* data, size_t n, uint64_t h = kFnvOffset);
inline uint64_t fnv1a64(std::string_view s, uint64_t h = kFnvOffset) { return fnv1a64(s.data(), s.size(), h); }
uint64_t fnv1a64_file(const std::filesystem::path& path);
std::string hex64(uint64_t v);  // 16 lowercase hex digits

// Calls write(chunk_writer) to produce the file's bytes into "<path>.tmp.<pid>"
// beside `path`, then renames it over `path`. On any failure the temporary
// file is removed and the error rethrown, so `path` is either the old file
// or the complete new one.
using ChunkWriter = std::function<void(const void* data, size_t n)>;
void write_file_atomic(const std::filesystem::path& path, const std::function<void(const ChunkWriter&)>& write);
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// The whole file; errors name the path.
std::string read_file(const std::filesystem::path& path);

// fsync on a directory, so a rename inside it survives a crash.
void sync_dir(const std::filesystem::path& dir);

}  // namespace loglin::io

// A text corpus tokenized once and cached as a binary file:
//
//   <cache_dir>/<name>.<tokenizer_id>.tokens
//   64-byte header (little-endian): magic "LLTOKENS", u32 version, u32 bytes
//   per token (4), i64 vocab size, u64 token count, u64 source size, u64
//   FNV-1a 64 of the source text, u64 FNV-1a 64 of the tokenizer id, u64
//   FNV-1a 64 of the token bytes; then the tokens as i32.
//
// The source's content hash (not its mtime) decides whether the cache is
// still good, so an edited, replaced or re-ordered source is re-tokenized.
// A damaged cache is rebuilt, and rebuild_reason() says what was wrong.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace loglin {

using EncodeFn = std::function<std::vector<int32_t>(const std::string&)>;

struct TokenFileOptions {
  std::filesystem::path source;     // a text file, or a directory of *.txt files
  std::filesystem::path cache_dir;  // created if missing
  std::string tokenizer_id;         // names the tokenizer and its settings; [A-Za-z0-9._-]
  int64_t vocab_size = 0;           // every token must lie in [0, vocab_size)
  std::string separator = "\n\n";   // put between the files of a directory
};

class TokenFile {
 public:
  // Returns the cached tokens when the cache matches the source, tokenizer
  // and vocabulary; otherwise tokenizes with `encode` and writes the cache.
  static TokenFile open(const TokenFileOptions& opts, const EncodeFn& encode);
  // Reads a cache file, checking it completely; errors name the file and
  // byte offset. Does not compare it with any source.
  static TokenFile read(const std::filesystem::path& cache_path);

  const std::shared_ptr<const std::vector<int32_t>>& tokens() const { return tokens_; }
  int64_t size() const { return static_cast<int64_t>(tokens_->size()); }
  int64_t vocab_size() const { return vocab_size_; }
  const std::filesystem::path& path() const { return path_; }
  bool built() const { return built_; }  // tokenized by this open()
  // Why an existing cache was not used ("" when it was, or when there was none).
  const std::string& rebuild_reason() const { return rebuild_reason_; }

 private:
  std::shared_ptr<const std::vector<int32_t>> tokens_ = std::make_shared<std::vector<int32_t>>();
  int64_t vocab_size_ = 0;
  uint64_t source_size_ = 0, source_hash_ = 0, tokenizer_hash_ = 0;
  std::filesystem::path path_;
  bool built_ = false;
  std::string rebuild_reason_;
};

// The text a source stands for: a file's contents, or a directory's *.txt
// files (recursively, sorted by path) joined by `separator`.
std::string read_text_source(const std::filesystem::path& source, const std::string& separator = "\n\n");

// The same text, with where each file lies in it: bytes [begin, end) of
// file i (the separators between files belong to none).
struct SourceText {
  struct File {
    int64_t begin = 0, end = 0;
  };
  std::string text;
  std::vector<File> files;
};
SourceText read_text_files(const std::filesystem::path& source, const std::string& separator = "\n\n");

// Where open() keeps the cache for these options.
std::filesystem::path token_cache_path(const TokenFileOptions& opts);

}  // namespace loglin

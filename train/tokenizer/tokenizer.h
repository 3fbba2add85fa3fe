// Tokenizers turn text (arbitrary bytes, not only valid UTF-8) into ids and
// back. Two kinds: "byte" (id = byte value, 256 ids) and "bpe" (byte-level
// BPE fitted by `loglin tokenizer train`, see bpe_tokenizer.h).
//
// Files start with one header line, "loglin-tokenizer <kind> <version>",
// so load_tokenizer() can tell the kinds apart.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loglin {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Throws loglin::Error naming the first id outside [0, vocab_size()).
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int32_t vocab_size() const = 0;
  virtual std::string name() const = 0;  // "byte" or "bpe"
  // Written to a temporary file, flushed and renamed into place.
  virtual void save(const std::string& path) const = 0;
};

// kind "byte" (path unused) or "bpe" (loaded from path), as in the config's
// data.tokenizer and data.tokenizer_path.
std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& path);

// Any tokenizer file, its kind read from the header line.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace loglin

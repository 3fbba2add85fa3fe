#include "train/tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <sstream>

#include "core/error.h"
#include "train/config/suggest.h"
#include "train/tokenizer/bpe_tokenizer.h"
#include "train/tokenizer/byte_tokenizer.h"
#include "train/tokenizer/file_io.h"

namespace loglin {

std::unique_ptr<Tokenizer> make_tokenizer(const std::string& kind, const std::string& path) {
  if (kind == "byte") return std::make_unique<ByteTokenizer>();
  if (kind == "bpe") {
    LOGLIN_CHECK(!path.empty(), "[tokenizer] bpe needs a tokenizer file (make one with `loglin tokenizer train`)");
    return std::make_unique<BpeTokenizer>(BpeTokenizer::load(path));
  }
  std::string near = closest_match(kind, {"byte", "bpe"});
  LOGLIN_FAIL("[tokenizer] unknown tokenizer kind '{}': expected byte or bpe{}", kind,
              near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near));
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  // Only the header decides the kind; each loader re-reads and checks it.
  const std::string text = read_file(path, "tokenizer");
  std::istringstream first(text.substr(0, text.find('\n')));
  std::string magic, kind;
  first >> magic >> kind;
  if (magic == kTokenizerMagic && kind == "byte") return std::make_unique<ByteTokenizer>(ByteTokenizer::load(path));
  if (magic == kTokenizerMagic && kind == "bpe") return std::make_unique<BpeTokenizer>(BpeTokenizer::load(path));
  LOGLIN_FAIL(
      "[tokenizer] {}:1: not a loglin tokenizer file: expected '{} <byte|bpe> <version>' as the first line, "
      "got '{}'",
      path, kTokenizerMagic, printable(text.substr(0, text.find('\n'))));
}

}  // namespace loglin

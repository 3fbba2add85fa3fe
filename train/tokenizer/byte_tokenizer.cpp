#include "train/tokenizer/byte_tokenizer.h"

#include "core/error.h"
#include "train/tokenizer/file_io.h"

namespace loglin {

std::vector<int32_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out(ids.size(), '\0');
  for (size_t i = 0; i < ids.size(); ++i) {
    LOGLIN_CHECK(ids[i] >= 0 && ids[i] < 256, "[tokenizer] byte: cannot decode id {} at position {}: ids are 0..255",
                 ids[i], i);
    out[i] = static_cast<char>(ids[i]);
  }
  return out;
}

void ByteTokenizer::save(const std::string& path) const {
  write_file_atomic(path, std::string(kTokenizerMagic) + " byte 1\n", "tokenizer");
}

ByteTokenizer ByteTokenizer::load(const std::string& path) {
  TextLines lines(read_file(path, "tokenizer"), path);
  lines.expect_header("byte", 1);
  std::string_view extra;
  if (lines.next(extra)) lines.fail("unexpected content after the header of a byte tokenizer file");
  return {};
}

}  // namespace loglin

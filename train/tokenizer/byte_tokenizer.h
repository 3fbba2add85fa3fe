// The default tokenizer: one id per byte (0..255). Lossless on any input.
#pragma once
#include "train/tokenizer/tokenizer.h"

namespace loglin {

class ByteTokenizer : public Tokenizer {
 public:
  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int32_t vocab_size() const override { return 256; }
  std::string name() const override { return "byte"; }
  void save(const std::string& path) const override;
  // Checks the file is a byte tokenizer file (a header line, nothing else).
  static ByteTokenizer load(const std::string& path);
};

}  // namespace loglin

// Fitting BPE merges on a corpus that may come in pieces (one file at a
// time): add_text() counts chunks, train() runs the merges.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "train/tokenizer/bpe_tokenizer.h"

namespace loglin {

class BpeTrainer {
 public:
  void add_text(std::string_view text);
  int64_t bytes_seen() const { return bytes_; }
  // See BpeTokenizer::train.
  BpeTokenizer train(int vocab_size, const BpeTokenizer::Progress& progress = {}) const;

 private:
  // Transparent hashing so counting a chunk needs no std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> chunk_counts_;
  int64_t bytes_ = 0;
};

}  // namespace loglin

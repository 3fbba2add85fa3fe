// Byte-level BPE. Ids 0..255 are the bytes; merge i makes id 256 + i from
// an adjacent pair of earlier ids. Text is first cut into chunks
// (pretokenize.h) that merges never cross; encoding applies, within each
// chunk, the earliest-learned applicable merge until none applies.
//
// File format (text, version 1):
//   loglin-tokenizer bpe 1
//   merges M
//   A B            (M lines: merge i joins ids A and B into id 256 + i)
// A merge line may end in "# ..." (the new token's bytes, escaped, for
// readers); lines starting with '#' are comments. A and B must be ids
// defined before that line.
#pragma once
#include <functional>
#include <unordered_map>
#include <utility>

#include "train/tokenizer/tokenizer.h"

namespace loglin {

class BpeTokenizer : public Tokenizer {
 public:
  using Merge = std::pair<int32_t, int32_t>;
  // merges_done, merges_wanted: called after every merge while training.
  using Progress = std::function<void(int, int)>;

  // Throws loglin::Error when a merge uses an id not yet defined or repeats
  // an earlier merge.
  explicit BpeTokenizer(std::vector<Merge> merges = {});

  // Fits merges on corpus until vocab_size ids (>= 256) or until no pair
  // occurs twice. The same corpus always gives the same merges.
  static BpeTokenizer train(std::string_view corpus, int vocab_size, const Progress& progress = {});
  static BpeTokenizer load(const std::string& path);

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(const std::vector<int32_t>& ids) const override;
  int32_t vocab_size() const override { return int32_t(pieces_.size()); }
  std::string name() const override { return "bpe"; }
  void save(const std::string& path) const override;

  const std::vector<Merge>& merges() const { return merges_; }
  // The bytes id stands for.
  const std::string& piece(int32_t id) const;

 private:
  void encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const;

  std::vector<Merge> merges_;
  std::vector<std::string> pieces_;
  std::unordered_map<uint64_t, int32_t> rank_;  // pair key -> merge index
};

namespace bpe_detail {
inline uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
}  // namespace bpe_detail

}  // namespace loglin

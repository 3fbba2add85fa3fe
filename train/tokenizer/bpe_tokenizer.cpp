#include "train/tokenizer/bpe_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <unordered_set>

#include "core/error.h"
#include "train/tokenizer/file_io.h"
#include "train/tokenizer/pretokenize.h"

namespace loglin {

using bpe_detail::pair_key;

BpeTokenizer::BpeTokenizer(std::vector<Merge> merges) : merges_(std::move(merges)) {
  pieces_.reserve(256 + merges_.size());
  for (int c = 0; c < 256; ++c) pieces_.emplace_back(1, char(c));
  rank_.reserve(merges_.size());
  for (size_t i = 0; i < merges_.size(); ++i) {
    const auto [a, b] = merges_[i];
    const int32_t defined = int32_t(pieces_.size());
    LOGLIN_CHECK(a >= 0 && a < defined && b >= 0 && b < defined,
                 "[tokenizer] bpe: merge {} joins ids {} and {}, but only ids 0..{} exist before it", i, a, b,
                 defined - 1);
    LOGLIN_CHECK(rank_.emplace(pair_key(a, b), int32_t(i)).second, "[tokenizer] bpe: merge {} repeats merge {} ({} {})",
                 i, rank_.at(pair_key(a, b)), a, b);
    pieces_.push_back(pieces_[a] + pieces_[b]);
  }
}

const std::string& BpeTokenizer::piece(int32_t id) const {
  LOGLIN_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] bpe: id {} is outside the vocabulary (0..{})", id,
               vocab_size() - 1);
  return pieces_[size_t(id)];
}

void BpeTokenizer::encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const {
  // Chunks are at most kMaxChunkBytes long, so the quadratic "find the
  // earliest merge, apply it everywhere, repeat" stays cheap.
  std::vector<int32_t> ids(chunk.size());
  for (size_t i = 0; i < chunk.size(); ++i) ids[i] = static_cast<unsigned char>(chunk[i]);
  while (ids.size() > 1) {
    int32_t best = std::numeric_limits<int32_t>::max();
    for (size_t j = 0; j + 1 < ids.size(); ++j) {
      auto it = rank_.find(pair_key(ids[j], ids[j + 1]));
      if (it != rank_.end() && it->second < best) best = it->second;
    }
    if (best == std::numeric_limits<int32_t>::max()) break;
    const auto [a, b] = merges_[size_t(best)];
    size_t w = 0;
    for (size_t j = 0; j < ids.size();) {
      if (j + 1 < ids.size() && ids[j] == a && ids[j + 1] == b) {
        ids[w++] = 256 + best;
        j += 2;
      } else {
        ids[w++] = ids[j++];
      }
    }
    ids.resize(w);
  }
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  // Natural text repeats its words, so each call remembers its chunks.
  std::unordered_map<std::string_view, std::pair<size_t, size_t>> seen;  // chunk -> span in out
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 16);
  bpe_detail::for_each_chunk(text, [&](std::string_view chunk) {
    auto it = seen.find(chunk);
    if (it != seen.end()) {
      const auto [begin, len] = it->second;
      for (size_t i = 0; i < len; ++i) {
        const int32_t id = out[begin + i];  // a copy: push_back may move out's storage
        out.push_back(id);
      }
      return;
    }
    const size_t begin = out.size();
    encode_chunk(chunk, out);
    seen.emplace(chunk, std::make_pair(begin, out.size() - begin));
  });
  return out;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    LOGLIN_CHECK(ids[i] >= 0 && ids[i] < vocab_size(),
                 "[tokenizer] bpe: cannot decode id {} at position {}: the vocabulary is 0..{}", ids[i], i,
                 vocab_size() - 1);
    out += pieces_[size_t(ids[i])];
  }
  return out;
}

void BpeTokenizer::save(const std::string& path) const {
  std::string text = fmt::format("{} bpe 1\nmerges {}\n", kTokenizerMagic, merges_.size());
  for (size_t i = 0; i < merges_.size(); ++i)
    text += fmt::format("{} {}  # {}\n", merges_[i].first, merges_[i].second, printable(pieces_[256 + i], 40));
  write_file_atomic(path, text, "tokenizer");
}

namespace {

// Reads a non-negative integer at the front of s and drops it and the spaces after it.
bool take_int(std::string_view& s, int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || v < 0) return false;
  s.remove_prefix(size_t(p - s.data()));
  size_t sp = s.find_first_not_of(" \t");
  s.remove_prefix(sp == std::string_view::npos ? s.size() : sp);
  return true;
}

}  // namespace

BpeTokenizer BpeTokenizer::load(const std::string& path) {
  TextLines lines(read_file(path, "tokenizer"), path);
  lines.expect_header("bpe", 1);
  std::string_view line;
  if (!lines.next(line)) lines.fail("the file ends after the header; expected 'merges M'");
  int64_t count = 0;
  std::string_view rest = line;
  if (rest.substr(0, 7) != "merges " || (rest.remove_prefix(7), !take_int(rest, count)) || !rest.empty() ||
      count > (1 << 24))
    lines.fail(fmt::format("expected 'merges M' with M a count up to 16777216, got '{}'", printable(line)));
  std::vector<Merge> merges;
  merges.reserve(size_t(count));
  std::unordered_set<uint64_t> keys;  // repeats are checked here to name the line
  while (lines.next(line)) {
    if (int64_t(merges.size()) == count)
      lines.fail(fmt::format("more merge lines than the {} the header announced", count));
    int64_t a = -1, b = -1;
    rest = line;
    if (!take_int(rest, a) || !take_int(rest, b) || !(rest.empty() || rest[0] == '#'))
      lines.fail(fmt::format("expected a merge 'A B' (two ids), got '{}'", printable(line)));
    const int64_t defined = 256 + int64_t(merges.size());
    if (a >= defined || b >= defined)
      lines.fail(fmt::format("merge {} uses id {}, but only ids 0..{} are defined before it", merges.size(),
                             std::max(a, b), defined - 1));
    if (!keys.insert(pair_key(int32_t(a), int32_t(b))).second)
      lines.fail(fmt::format("merge {} ({} {}) repeats an earlier merge", merges.size(), a, b));
    merges.emplace_back(int32_t(a), int32_t(b));
  }
  if (int64_t(merges.size()) != count)
    lines.fail(
        fmt::format("the file ends after {} merges; the header announced {} (truncated file?)", merges.size(), count));
  return BpeTokenizer(std::move(merges));
}

}  // namespace loglin

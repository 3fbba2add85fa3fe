// Splits text into the chunks BPE merges stay inside, so no token spans two
// words. A simple cousin of GPT-2's pattern, on bytes:
//   - runs of letters (ASCII letters and every byte >= 0x80, which keeps
//     UTF-8 sequences together), runs of digits, and runs of other
//     punctuation are separate chunks;
//   - one space before such a run belongs to it (" the"), so word-initial
//     and mid-sentence words get their own tokens;
//   - other whitespace runs are chunks of their own;
//   - no chunk is longer than kMaxChunkBytes (long runs are cut), which
//     bounds the per-chunk cost of encoding pathological input.
// Every byte of the text is in exactly one chunk, in order.
#pragma once
#include <cstddef>
#include <string_view>

namespace loglin::bpe_detail {

inline constexpr size_t kMaxChunkBytes = 64;

enum class ByteClass { space, letter, digit, other };

inline ByteClass classify(unsigned char c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return ByteClass::space;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return ByteClass::letter;
  if (c >= '0' && c <= '9') return ByteClass::digit;
  return ByteClass::other;
}

// Calls emit(std::string_view chunk) for each chunk of text.
template <class F>
void for_each_chunk(std::string_view text, F&& emit) {
  const size_t n = text.size();
  auto cls = [&](size_t i) { return classify(static_cast<unsigned char>(text[i])); };
  auto emit_capped = [&](size_t b, size_t e) {
    for (; e - b > kMaxChunkBytes; b += kMaxChunkBytes) emit(text.substr(b, kMaxChunkBytes));
    if (e > b) emit(text.substr(b, e - b));
  };
  size_t i = 0;
  while (i < n) {
    size_t start = i;
    if (cls(i) == ByteClass::space) {
      size_t j = i;
      while (j < n && cls(j) == ByteClass::space) ++j;
      // A single trailing ' ' before a word joins the word.
      if (j < n && text[j - 1] == ' ') {
        emit_capped(i, j - 1);
        start = j - 1;
        i = j;
      } else {
        emit_capped(i, j);
        i = j;
        continue;
      }
    }
    const ByteClass c = cls(i);
    while (i < n && cls(i) == c) ++i;
    emit_capped(start, i);
  }
}

}  // namespace loglin::bpe_detail

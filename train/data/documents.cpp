#include "train/data/documents.h"

#include <algorithm>

#include "core/error.h"

namespace loglin {
namespace {

bool is_blank_byte(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The documents of one file's bytes [begin, end) split at blank lines.
void split_at_blank_lines(const std::string& text, int64_t begin, int64_t end, std::vector<Span>& out) {
  int64_t doc_begin = -1, doc_end = -1;  // the open document, if any
  for (int64_t line = begin; line < end;) {
    int64_t stop = line;
    while (stop < end && text[stop] != '\n') ++stop;  // the line is [line, stop)
    bool blank = true;
    for (int64_t i = line; i < stop && blank; ++i) blank = is_blank_byte(text[i]);
    if (blank) {
      if (doc_begin >= 0) out.push_back({doc_begin, doc_end});
      doc_begin = -1;
    } else {
      if (doc_begin < 0) doc_begin = line;
      doc_end = stop;
    }
    line = stop + 1;
  }
  if (doc_begin >= 0) out.push_back({doc_begin, doc_end});
}

bool all_whitespace(const std::string& text, const Span& s) {
  for (int64_t i = s.begin; i < s.end; ++i)
    if (!is_blank_byte(text[i]) && text[i] != '\n') return false;
  return true;
}

}  // namespace

DocumentSplit parse_document_split(const std::string& name) {
  if (name == "files") return DocumentSplit::files;
  if (name == "blank_lines") return DocumentSplit::blank_lines;
  LOGLIN_FAIL("[data] unknown document split '{}' (expected files or blank_lines)", name);
}

std::vector<Span> document_byte_spans(const SourceText& source, DocumentSplit split) {
  std::vector<Span> docs;
  for (const SourceText::File& f : source.files) {
    if (split == DocumentSplit::blank_lines) {
      split_at_blank_lines(source.text, f.begin, f.end, docs);
    } else if (!all_whitespace(source.text, {f.begin, f.end})) {
      docs.push_back({f.begin, f.end});
    }
  }
  return docs;
}

std::vector<Span> document_token_spans(const std::vector<Span>& byte_spans, const std::vector<int32_t>& tokens,
                                       const std::vector<int32_t>& token_bytes, int64_t text_bytes) {
  // offset[i]: the first byte of token i; offset[n] the end of the text.
  const int64_t n = static_cast<int64_t>(tokens.size());
  std::vector<int64_t> offset(n + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = tokens[i];
    LOGLIN_CHECK(t >= 0 && t < static_cast<int64_t>(token_bytes.size()),
                 "[data] token {} at position {} is outside the tokenizer's {} ids", t, i, token_bytes.size());
    offset[i + 1] = offset[i] + token_bytes[t];
  }
  LOGLIN_CHECK(offset[n] == text_bytes,
               "[data] the {} tokens decode to {} bytes but the text has {}: the tokenizer does not cover the text "
               "byte for byte, so the document boundaries cannot be placed in the token stream",
               n, offset[n], text_bytes);
  std::vector<Span> out;
  int64_t prev_end = 0;
  for (const Span& d : byte_spans) {
    // First token ending after the document's start; first token starting at or after its end.
    int64_t first = std::upper_bound(offset.begin() + 1, offset.end(), d.begin) - offset.begin() - 1;
    const int64_t last = std::lower_bound(offset.begin(), offset.begin() + n, d.end) - offset.begin();
    first = std::max(first, prev_end);
    if (last <= first) continue;
    out.push_back({first, last});
    prev_end = last;
  }
  return out;
}

}  // namespace loglin

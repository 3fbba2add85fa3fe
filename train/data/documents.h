// Where the documents of a text source lie: first in the source's bytes
// (each file is a document; with blank_lines, also each run of lines between
// blank lines), then in its token stream, so that packed training
// (text_dataset.h) can keep documents apart.
//
// The token stream itself is unchanged (the whole source tokenized at once,
// as the token cache holds it); a document's tokens are those whose bytes
// overlap its bytes. Both tokenizers are byte-exact (a token's bytes are
// Tokenizer::decode of it), and BPE merges stay inside pretokenizer chunks
// that never join a letter to a newline, so a document's tokens hold its
// text and at most some of the whitespace around it, never another
// document's text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/data/token_file.h"

namespace loglin {

enum class DocumentSplit {
  files,        // each file of the source is one document
  blank_lines,  // and within a file, each run of lines between blank (whitespace-only) lines
};

// "files" or "blank_lines" (data.documents); anything else is an error.
DocumentSplit parse_document_split(const std::string& name);

// [begin, end) in bytes or in tokens.
struct Span {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool operator==(const Span&) const = default;
};

// The byte span of each document, in order. A blank_lines document runs
// from the first byte of its first line to the last byte of its last line
// (its final newline and the blank lines belong to no document). Documents
// of whitespace only are left out.
std::vector<Span> document_byte_spans(const SourceText& source, DocumentSplit split);

// The token span of each document: the tokens whose bytes overlap its byte
// span (tokens[i] has token_bytes[tokens[i]] bytes, and they must add up to
// text_bytes: the stream covers the text exactly). The spans keep the
// documents' order and never overlap; a document without tokens is left out.
std::vector<Span> document_token_spans(const std::vector<Span>& byte_spans, const std::vector<int32_t>& tokens,
                                       const std::vector<int32_t>& token_bytes, int64_t text_bytes);

}  // namespace loglin

// Packed documents on the data side: where documents lie in a source's bytes
// (files, blank lines) and in its tokens, how the packer cuts and lays them
// into rows, the packed TextDataset's batches (cu_seqlens, no target across a
// boundary, validation coverage, resume) and TrainData from a directory.
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "catch.h"
#include "test_util.h"
#include "train/data/documents.h"
#include "train/data/packing.h"
#include "train/data/text_dataset.h"
#include "train/tokenizer/bpe_trainer.h"
#include "train/trainer/train_data.h"

namespace fs = std::filesystem;
using namespace loglin;
using loglin_test::TempDir;

namespace {

std::string slice(const SourceText& s, const Span& sp) { return s.text.substr(sp.begin, sp.size()); }

SourceText one_file(const std::string& text) { return {text, {{0, static_cast<int64_t>(text.size())}}}; }

std::shared_ptr<const std::vector<int32_t>> counting_tokens(int n) {
  auto v = std::make_shared<std::vector<int32_t>>(n);
  for (int i = 0; i < n; ++i) (*v)[i] = i;
  return v;
}

std::vector<int64_t> ids(const Tensor& t) { return t.to_vector<int64_t>(); }

// Which document each token belongs to (-1: none), from token spans.
std::vector<int> owner_of(const std::vector<Span>& docs, int64_t n) {
  std::vector<int> owner(n, -1);
  for (size_t d = 0; d < docs.size(); ++d)
    for (int64_t i = docs[d].begin; i < docs[d].end; ++i) owner[i] = static_cast<int>(d);
  return owner;
}

}  // namespace

TEST_CASE("documents: each file, or each run of lines between blank lines", "[train][data][packed]") {
  // Two files joined by the "\n\n" separator, as read_text_files joins them.
  const std::string a = "first line\nsecond line\n\n  \t\nnext paragraph\r\n\r\nlast\n", b = "other file\n";
  const SourceText src{a + "\n\n" + b,
                       {{0, static_cast<int64_t>(a.size())},
                        {static_cast<int64_t>(a.size() + 2), static_cast<int64_t>(a.size() + 2 + b.size())}}};
  auto files = document_byte_spans(src, DocumentSplit::files);
  REQUIRE(files.size() == 2);
  CHECK(slice(src, files[0]) == a);
  CHECK(slice(src, files[1]) == b);
  auto paras = document_byte_spans(src, DocumentSplit::blank_lines);
  REQUIRE(paras.size() == 4);
  CHECK(slice(src, paras[0]) == "first line\nsecond line");
  CHECK(slice(src, paras[1]) == "next paragraph\r");  // "\r\n\r\n": a line holding only '\r' is blank
  CHECK(slice(src, paras[2]) == "last");
  CHECK(slice(src, paras[3]) == "other file");
  // Whitespace-only files and blank stretches hold no document.
  CHECK(document_byte_spans(one_file(" \n\n\t\n"), DocumentSplit::files).empty());
  CHECK(document_byte_spans(one_file("\n\n\nx\n\n\n"), DocumentSplit::blank_lines).size() == 1);
  CHECK(parse_document_split("blank_lines") == DocumentSplit::blank_lines);
  LL_CHECK_ERROR(parse_document_split("paragraphs"), "unknown document split 'paragraphs'");
}

TEST_CASE("documents: token spans follow the tokens' bytes", "[train][data][packed]") {
  // A text of 10 bytes "ab\n\ncd ef!" as tokens of 2, 2, 2, 3 and 1 bytes (ids 0..4 with those lengths).
  const std::vector<int32_t> token_bytes{2, 2, 2, 3, 1};
  const std::vector<int32_t> tokens{0, 1, 2, 3, 4};  // bytes [0,2) [2,4) [4,6) [6,9) [9,10)
  // Documents "ab" [0,2) and "cd ef!" [4,10); and one [5,7) starting inside a token.
  auto spans = document_token_spans({{0, 2}, {4, 10}}, tokens, token_bytes, 10);
  REQUIRE(spans.size() == 2);
  CHECK(spans[0] == Span{0, 1});
  CHECK(spans[1] == Span{2, 5});
  CHECK(document_token_spans({{5, 7}}, tokens, token_bytes, 10) == std::vector<Span>{{2, 4}});
  // Spans never overlap: a token shared by two byte spans goes to the first.
  CHECK(document_token_spans({{0, 5}, {5, 10}}, tokens, token_bytes, 10) == std::vector<Span>{{0, 3}, {3, 5}});
  LL_CHECK_ERROR(document_token_spans({{0, 2}}, tokens, token_bytes, 11), "decode to 10 bytes but the text has 11");
}

TEST_CASE("packer: long documents are cut into seq_len pieces, one-token documents dropped", "[train][data][packed]") {
  auto tok = counting_tokens(40);
  // Documents of 9 tokens (8 pairs), 1 token (none), 3 tokens (2 pairs); seq_len 3.
  DocumentPacker p(tok, {{0, 9}, {9, 10}, {10, 13}}, 0, 40, 3);
  CHECK(p.num_documents() == 2);
  REQUIRE(p.num_pieces() == 4);  // 3 + 3 + 2 pairs of the first, 2 of the last
  CHECK(p.total_pairs() == 10);
  std::vector<int64_t> in(3), tg(3), seg;
  // Piece 1 is pairs 3..5 of the first document: inputs 3,4,5, targets 4,5,6 (one shared token).
  p.fill_row(p.piece_start(1), in.data(), tg.data(), seg);
  CHECK(in == std::vector<int64_t>{3, 4, 5});
  CHECK(tg == std::vector<int64_t>{4, 5, 6});
  CHECK(seg == std::vector<int64_t>{3});
  // Piece 2 has 2 pairs (6->7, 7->8); the row's tail takes the next piece's start as its own segment.
  seg.clear();
  p.fill_row(p.piece_start(2), in.data(), tg.data(), seg);
  CHECK(in == std::vector<int64_t>{6, 7, 10});
  CHECK(tg == std::vector<int64_t>{7, 8, 11});
  CHECK(seg == std::vector<int64_t>{2, 1});
  // The stream wraps: the last piece continues with the first.
  seg.clear();
  p.fill_row(p.piece_start(3), in.data(), tg.data(), seg);
  CHECK(in == std::vector<int64_t>{10, 11, 0});
  CHECK(seg == std::vector<int64_t>{2, 1});
  // Clipped to a split: only [10, 40) of the documents counts.
  DocumentPacker val(tok, {{0, 9}, {9, 10}, {10, 13}}, 11, 40, 3);
  CHECK(val.total_pairs() == 1);  // tokens 11, 12
}

TEST_CASE("packed text batches: segments start every row, no target crosses a document", "[train][data][packed]") {
  const int64_t n = 2000, T = 16, B = 5;
  auto tok = counting_tokens(static_cast<int>(n));
  // Documents of varied lengths (1 to 40 tokens) back to back, with a one-token gap between some.
  std::vector<Span> docs;
  for (int64_t at = 0, k = 0; at < n; ++k) {
    const int64_t len = std::min<int64_t>(1 + (k * 7919) % 40, n - at);
    docs.push_back({at, at + len});
    at += len + (k % 3 == 0 ? 1 : 0);
  }
  const std::vector<int> owner = owner_of(docs, n);
  TextDatasetOptions o;
  o.seq_len = T;
  o.batch_size = B;
  o.val_fraction = 0.1;
  o.pack = true;
  TextDataset ds(tok, o, docs);
  Generator gen(3);
  for (int step = 0; step < 20; ++step) {
    Batch b = ds.next_train_batch(gen);
    REQUIRE(b.cu_seqlens.defined());
    const std::vector<int64_t> in = ids(b.inputs), tg = ids(b.targets), cu = ids(b.cu_seqlens);
    CHECK(cu.front() == 0);
    CHECK(cu.back() == B * T);
    std::set<int64_t> starts(cu.begin(), cu.end());
    for (int64_t r = 0; r <= B; ++r) CHECK(starts.count(r * T) == 1);  // every row starts a segment
    for (size_t s = 0; s + 1 < cu.size(); ++s) {
      REQUIRE(cu[s + 1] > cu[s]);
      for (int64_t i = cu[s]; i < cu[s + 1]; ++i) {
        // Counting tokens: the id is the position. Each target is the next token of the same
        // document, in the training split, and a segment is one run of one document.
        CHECK(tg[i] == in[i] + 1);
        CHECK(tg[i] < ds.train_tokens());
        CHECK(owner[in[i]] >= 0);
        CHECK(owner[tg[i]] == owner[in[i]]);
        CHECK(owner[in[i]] == owner[in[cu[s]]]);
        if (i > cu[s]) CHECK(in[i] == in[i - 1] + 1);
      }
    }
  }
}

TEST_CASE("packed validation: every target of the split's documents once, in order", "[train][data][packed]") {
  const int64_t n = 3000, T = 8, B = 3;
  auto tok = counting_tokens(static_cast<int>(n));
  std::vector<Span> docs;
  for (int64_t at = 0, k = 0; at < n; ++k) {
    const int64_t len = std::min<int64_t>(2 + (k * 31) % 23, n - at);
    docs.push_back({at, at + len});
    at += len;
  }
  TextDatasetOptions o;
  o.seq_len = T;
  o.batch_size = B;
  o.val_fraction = 0.2;
  o.pack = true;
  TextDataset ds(tok, o, docs);
  const int64_t lo = ds.train_tokens();
  // The targets a split's documents give: every token but the first of each (clipped) document.
  std::vector<int64_t> want;
  for (const Span& d : docs) {
    const int64_t a = std::max(d.begin, lo);
    for (int64_t i = a + 1; i < d.end; ++i) want.push_back(i);
  }
  std::vector<int64_t> got;
  for (int64_t i = 0; i < ds.num_val_batches(); ++i) {
    Batch b = ds.val_batch(i);
    for (int64_t t : ids(b.targets)) got.push_back(t);
    CHECK(ids(b.cu_seqlens).back() == b.inputs.size(0) * T);
  }
  REQUIRE(got.size() == static_cast<size_t>(ds.num_val_windows() * T));
  CHECK(want.size() - got.size() < static_cast<size_t>(T));  // only the last part-row is left out
  CHECK(std::vector<int64_t>(want.begin(), want.begin() + got.size()) == got);
}

TEST_CASE("packed batches are reproducible and resume from a data position", "[train][data][packed]") {
  auto tok = counting_tokens(500);
  std::vector<Span> docs;
  for (int64_t at = 0; at < 500; at += 13) docs.push_back({at, std::min<int64_t>(at + 13, 500)});
  TextDatasetOptions o;
  o.seq_len = 10;
  o.batch_size = 2;
  o.pack = true;
  TextDataset a(tok, o, docs), b(tok, o, docs);
  Generator ga(4), gb(4);
  for (int i = 0; i < 3; ++i) a.next_train_batch(ga);
  const DataPosition pos = a.position(ga);
  const Batch next = a.next_train_batch(ga);
  b.restore(DataPosition::from_string(pos.to_string()), gb);
  const Batch again = b.next_train_batch(gb);
  CHECK(ids(next.inputs) == ids(again.inputs));
  CHECK(ids(next.cu_seqlens) == ids(again.cu_seqlens));
}

TEST_CASE("packed text dataset rejects what it cannot pack", "[train][data][packed]") {
  auto tok = counting_tokens(100);
  TextDatasetOptions o;
  o.seq_len = 8;
  o.batch_size = 2;
  o.val_fraction = 0.1;
  o.pack = true;
  LL_CHECK_ERROR(TextDataset(tok, o, {}), "packing needs the documents");
  std::vector<Span> singles;
  for (int64_t i = 0; i < 100; ++i) singles.push_back({i, i + 1});
  LL_CHECK_ERROR(TextDataset(tok, o, singles), "no document of two or more tokens");
  // The validation split (tokens 80..99) in documents of two tokens gives 10 targets: fewer than one row of 12.
  o.seq_len = 12;
  o.val_fraction = 0.2;
  std::vector<Span> pairs{{0, 80}};
  for (int64_t i = 80; i < 100; i += 2) pairs.push_back({i, i + 2});
  LL_CHECK_ERROR(TextDataset(tok, o, pairs), "give 10 targets, fewer than one row of seq_len 12");
}

TEST_CASE("TrainData packs the files of a directory as documents", "[train][data][packed]") {
  TempDir dir("packed_data");
  // Three files; the last holds two paragraphs.
  std::ofstream(dir.path / "a.txt") << std::string(300, 'a');
  std::ofstream(dir.path / "b.txt") << std::string(200, 'b');
  std::ofstream(dir.path / "c.txt") << std::string(150, 'c') + "\n\n" + std::string(150, 'd');
  DataConfig cfg;
  cfg.dataset = "text";
  cfg.path = dir.path.string();
  cfg.cache_dir = (dir.path / "cache").string();
  cfg.seq_len = 32;
  cfg.batch_size = 4;
  cfg.val_fraction = 0.1;
  cfg.pack = true;
  for (const char* split : {"files", "blank_lines"}) {
    INFO(split);
    const bool files = std::string(split) == "files";
    cfg.documents = split;
    TrainData data(cfg, [](const std::string&) {});
    CHECK(loglin_test::contains(data.describe(), "packed: "));
    Generator gen(1);
    for (int step = 0; step < 30; ++step) {
      Batch b = data.next_train_batch(gen);
      const std::vector<int64_t> in = ids(b.inputs), tg = ids(b.targets), cu = ids(b.cu_seqlens);
      for (size_t s = 0; s + 1 < cu.size(); ++s) {
        // The bytes of one segment's inputs and targets: one document's.
        std::set<int64_t> seen(in.begin() + cu[s], in.begin() + cu[s + 1]);
        seen.insert(tg.begin() + cu[s], tg.begin() + cu[s + 1]);
        INFO("segment " << s << " of step " << step);
        if (seen.count('a') || seen.count('b')) {
          CHECK(seen.size() == 1);  // a.txt and b.txt never meet, nor touch the separator between files
        } else if (files) {
          for (int64_t c : seen) CHECK((c == 'c' || c == 'd' || c == '\n'));  // c.txt is one document
        } else {
          CHECK(seen.size() == 1);  // its paragraphs are two
          CHECK(*seen.begin() != '\n');
        }
      }
    }
  }
}

TEST_CASE("TrainData with a BPE tokenizer keeps each document's tokens apart", "[train][data][packed]") {
  TempDir dir("packed_bpe");
  auto words = [](const std::string& w, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i % 9 == 8 ? "\n" : i ? " " : "") + w;
    return s + "\n";
  };
  fs::create_directories(dir.path / "corpus");
  std::ofstream(dir.path / "corpus" / "a.txt") << words("alpha", 60);
  std::ofstream(dir.path / "corpus" / "b.txt") << words("beta", 50) << "\n \n" << words("gamma", 70);
  std::ofstream(dir.path / "corpus" / "c.txt") << words("delta", 80);
  BpeTrainer trainer;
  trainer.add_text(read_text_source(dir.path / "corpus"));
  trainer.train(300).save((dir.path / "bpe.txt").string());
  DataConfig cfg;
  cfg.dataset = "text";
  cfg.path = (dir.path / "corpus").string();
  cfg.cache_dir = (dir.path / "cache").string();
  cfg.tokenizer = "bpe";
  cfg.tokenizer_path = (dir.path / "bpe.txt").string();
  cfg.seq_len = 16;
  cfg.batch_size = 4;
  cfg.val_fraction = 0.1;
  cfg.pack = true;
  cfg.documents = "blank_lines";
  TrainData data(cfg, [](const std::string&) {});
  Generator gen(2);
  int segments = 0;
  for (int step = 0; step < 40; ++step) {
    Batch b = data.next_train_batch(gen);
    const std::vector<int64_t> in = ids(b.inputs), tg = ids(b.targets), cu = ids(b.cu_seqlens);
    for (size_t s = 0; s + 1 < cu.size(); ++s, ++segments) {
      // The segment's text: its inputs, then its last target.
      std::vector<int32_t> toks(in.begin() + cu[s], in.begin() + cu[s + 1]);
      toks.push_back(static_cast<int32_t>(tg[cu[s + 1] - 1]));
      const std::string text = data.tokenizer()->decode(toks);
      INFO("segment text: '" << text << "'");
      // One document repeats one word: some word must hold every run of letters (cut ones at the edges too).
      std::vector<std::string> runs;
      for (size_t i = 0; i < text.size();) {
        size_t j = i;
        while (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) ++j;
        if (j > i) runs.push_back(text.substr(i, j - i));
        i = j + 1;
      }
      bool one_word = false;
      for (const std::string w : {"alpha", "beta", "gamma", "delta"}) {
        bool all = true;
        for (const auto& r : runs) all = all && w.find(r) != std::string::npos;
        one_word = one_word || all;
      }
      CHECK(one_word);
    }
  }
  CHECK(segments > 160);
}

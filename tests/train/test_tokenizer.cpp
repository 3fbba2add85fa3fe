// Tokenizers: byte round trips on arbitrary bytes, BPE training (round trip,
// compression, determinism), save/load and the errors of corrupted files.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>

#include "catch.h"
#include "core/error.h"
#include "test_util.h"
#include "train/tokenizer/bpe_tokenizer.h"
#include "train/tokenizer/bpe_trainer.h"
#include "train/tokenizer/byte_tokenizer.h"
#include "train/tokenizer/pretokenize.h"

using loglin::BpeTokenizer;
using loglin::ByteTokenizer;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

// Every byte value, a NUL in the middle, and invalid UTF-8 (a lone
// continuation byte, a truncated sequence, an overlong form).
std::string awkward_bytes() {
  std::string s;
  for (int c = 0; c < 256; ++c) s += char(c);
  s += std::string("a\0b", 3);
  s += "\x80\xc3 \xe2\x82 \xc0\xaf caf\xc3\xa9 \xff\xfe";
  return s;
}

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng() & 0xff);
  return s;
}

// A few hundred KB of English-like text: Zipf-ish words, punctuation, numbers.
std::string make_corpus(size_t words, uint32_t seed) {
  static const char* vocab[] = {
      "the",   "of",     "and",   "to",       "a",           "in",          "is",     "that",  "for",  "it",
      "was",   "on",     "with",  "he",       "as",          "his",         "they",   "be",    "at",   "one",
      "have",  "this",   "from",  "by",       "hot",         "word",        "but",    "what",  "some", "we",
      "can",   "out",    "other", "were",     "all",         "there",       "when",   "up",    "use",  "your",
      "how",   "said",   "an",    "each",     "she",         "which",       "do",     "their", "time", "if",
      "will",  "way",    "about", "many",     "then",        "them",        "write",  "would", "like", "so",
      "these", "her",    "long",  "make",     "thing",       "see",         "him",    "two",   "has",  "look",
      "more",  "day",    "could", "go",       "come",        "did",         "number", "sound", "no",   "most",
      "river", "people", "water", "mountain", "caf\xc3\xa9", "na\xc3\xafve"};
  constexpr size_t n = sizeof(vocab) / sizeof(vocab[0]);
  std::mt19937 rng(seed);
  std::string out;
  for (size_t i = 0; i < words; ++i) {
    // Squaring a uniform draw favours the first words, like natural text.
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    std::string w = vocab[size_t(u * u * n) % n];
    if (i % 12 == 0) w[0] = char(std::toupper(static_cast<unsigned char>(w[0])));
    out += w;
    const uint32_t r = rng() % 40;
    if (r == 0)
      out += ".\n";
    else if (r == 1)
      out += ", ";
    else if (r == 2)
      out += " " + std::to_string(rng() % 2000) + " ";
    else if (r == 3)
      out += "\n\n";
    else
      out += " ";
  }
  return out;
}

std::string tmp_path(const std::string& name) { return "test_tokenizer_" + name; }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

}  // namespace

TEST_CASE("tokenizer: byte round-trips arbitrary bytes", "[train]") {
  ByteTokenizer tok;
  CHECK(tok.vocab_size() == 256);
  CHECK(tok.name() == "byte");
  for (const std::string& s : {awkward_bytes(), random_bytes(5000, 1), std::string()}) {
    const auto ids = tok.encode(s);
    REQUIRE(ids.size() == s.size());
    bool same = true;
    for (size_t i = 0; i < ids.size(); ++i) same = same && ids[i] == int32_t(static_cast<unsigned char>(s[i]));
    CHECK(same);
    CHECK(tok.decode(ids) == s);
  }
}

TEST_CASE("tokenizer: decoding an invalid id names it", "[train]") {
  ByteTokenizer byte;
  CHECK_THROWS_AS(byte.decode({65, 256}), loglin::Error);
  CHECK(contains(error_message([&] { byte.decode({65, 256}); }),
                 "[tokenizer] byte: cannot decode id 256 at position 1"));
  CHECK(contains(error_message([&] { byte.decode({-1}); }), "cannot decode id -1 at position 0"));
  BpeTokenizer bpe = BpeTokenizer::train(make_corpus(2000, 1), 300);
  CHECK_THROWS_AS(bpe.decode({1 << 30}), loglin::Error);
  CHECK(contains(error_message([&] { bpe.decode({3, bpe.vocab_size()}); }),
                 "[tokenizer] bpe: cannot decode id " + std::to_string(bpe.vocab_size()) + " at position 1"));
  CHECK(contains(error_message([&] { bpe.decode({-7}); }), "cannot decode id -7"));
  CHECK(bpe.decode({}).empty());
}

TEST_CASE("tokenizer: chunks cover the text and keep one leading space with the word", "[train]") {
  std::vector<std::string> chunks;
  const std::string text = "Hello, world!  It's 2024\n\n  caf\xc3\xa9 ok";
  loglin::bpe_detail::for_each_chunk(text, [&](std::string_view c) { chunks.emplace_back(c); });
  std::string joined;
  for (const auto& c : chunks) joined += c;
  CHECK(joined == text);
  const std::vector<std::string> expected = {"Hello", ",",     " world",       "!",  " ", " It", "'", "s",
                                             " 2024", "\n\n ", " caf\xc3\xa9", " ok"};
  CHECK(chunks == expected);
  chunks.clear();
  loglin::bpe_detail::for_each_chunk(std::string(200, 'a'), [&](std::string_view c) { chunks.emplace_back(c); });
  CHECK(chunks.size() == 4);  // 64 + 64 + 64 + 8
}

TEST_CASE("tokenizer: BPE trains, round-trips and compresses", "[train]") {
  const std::string corpus = make_corpus(40000, 7);
  int progress_calls = 0;
  BpeTokenizer tok = BpeTokenizer::train(corpus, 1024, [&](int done, int total) {
    ++progress_calls;
    CHECK(done <= total);
  });
  CHECK(tok.name() == "bpe");
  CHECK(tok.vocab_size() > 256);
  CHECK(tok.vocab_size() <= 1024);
  CHECK(progress_calls == tok.vocab_size() - 256);
  const auto ids = tok.encode(corpus);
  CHECK(tok.decode(ids) == corpus);
  const double bytes_per_token = double(corpus.size()) / double(ids.size());
  CHECK(bytes_per_token > 2.5);  // bytes would be 1.0
  CHECK(std::all_of(ids.begin(), ids.end(), [&](int32_t id) { return id >= 0 && id < tok.vocab_size(); }));
  // Text it never saw, including bytes that break UTF-8, still round-trips.
  for (const std::string& s : {awkward_bytes(), random_bytes(3000, 3), make_corpus(500, 99), std::string()})
    CHECK(tok.decode(tok.encode(s)) == s);
  // Frequent words become single tokens.
  CHECK(tok.encode(" the").size() == 1);
  // Merges never cross a chunk boundary: no token has a space after a non-space.
  for (int32_t id = 256; id < tok.vocab_size(); ++id) {
    const std::string& p = tok.piece(id);
    for (size_t i = 1; i < p.size(); ++i)
      if (p[i] == ' ') CHECK(std::isspace(static_cast<unsigned char>(p[i - 1])));
  }
}

TEST_CASE("tokenizer: BPE training is deterministic", "[train]") {
  const std::string corpus = make_corpus(20000, 11);
  BpeTokenizer a = BpeTokenizer::train(corpus, 700);
  BpeTokenizer b = BpeTokenizer::train(corpus, 700);
  CHECK(a.merges() == b.merges());
  loglin::BpeTrainer t;
  t.add_text(corpus);
  CHECK(t.bytes_seen() == int64_t(corpus.size()));
  CHECK(t.train(700).merges() == a.merges());
  // A shorter vocabulary is a prefix of the longer one's merges.
  BpeTokenizer c = BpeTokenizer::train(corpus, 400);
  REQUIRE(c.merges().size() <= a.merges().size());
  CHECK(std::equal(c.merges().begin(), c.merges().end(), a.merges().begin()));
}

TEST_CASE("tokenizer: BPE stops when no pair repeats, and checks the vocab size", "[train]") {
  BpeTokenizer tok = BpeTokenizer::train("abab", 1000);
  CHECK(tok.vocab_size() == 257);  // after "ab", the pair ("ab", "ab") occurs once
  CHECK(tok.decode(tok.encode("abab")) == "abab");
  CHECK(BpeTokenizer::train("", 512).vocab_size() == 256);
  CHECK(BpeTokenizer::train(make_corpus(100, 1), 256).merges().empty());
  CHECK(contains(error_message([] { BpeTokenizer::train("abc", 100); }),
                 "[tokenizer] bpe: vocab size must be in [256"));
}

TEST_CASE("tokenizer: BPE save/load gives identical encodings", "[train]") {
  const std::string corpus = make_corpus(10000, 5);
  BpeTokenizer tok = BpeTokenizer::train(corpus, 600);
  const std::string path = tmp_path("saved.bpe");
  tok.save(path);
  BpeTokenizer back = BpeTokenizer::load(path);
  CHECK(back.merges() == tok.merges());
  CHECK(back.vocab_size() == tok.vocab_size());
  CHECK(back.encode(corpus) == tok.encode(corpus));
  CHECK(back.encode(awkward_bytes()) == tok.encode(awkward_bytes()));
  // The kind comes from the header; the factory takes the config's names.
  auto any = loglin::load_tokenizer(path);
  CHECK(any->name() == "bpe");
  CHECK(any->encode(corpus) == tok.encode(corpus));
  CHECK(loglin::make_tokenizer("bpe", path)->vocab_size() == tok.vocab_size());
  CHECK(loglin::make_tokenizer("byte", "")->vocab_size() == 256);
  CHECK(contains(error_message([] { loglin::make_tokenizer("bep", "x"); }), "unknown tokenizer kind 'bep'"));
  CHECK(contains(error_message([] { loglin::make_tokenizer("bpe", ""); }), "bpe needs a tokenizer file"));
  // The byte tokenizer saves and loads too.
  const std::string byte_path = tmp_path("saved.byte");
  ByteTokenizer().save(byte_path);
  CHECK(loglin::load_tokenizer(byte_path)->name() == "byte");
  CHECK(contains(error_message([&] { BpeTokenizer::load(byte_path); }),
                 "this is a 'byte' tokenizer file, not a 'bpe' one"));
  std::remove(path.c_str());
  std::remove(byte_path.c_str());
}

TEST_CASE("tokenizer: corrupted BPE files are errors naming the file and line", "[train]") {
  const std::string path = tmp_path("bad.bpe");
  auto load_error = [&](const std::string& text) {
    write_text(path, text);
    return error_message([&] { BpeTokenizer::load(path); });
  };
  const std::string p = path + ":";
  CHECK(contains(load_error("hello\n"), "[tokenizer] " + p + "1: not a loglin tokenizer file"));
  CHECK(contains(load_error(""), p + "1: empty file"));
  CHECK(contains(load_error("loglin-tokenizer bpe 9\nmerges 0\n"), p + "1: format version 9 is newer"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\n"), p + "1: the file ends after the header"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerge 2\n"), p + "2: expected 'merges M'"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerges 2\n97 98\n98 x\n"), p + "4: expected a merge 'A B'"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerges 2\n97 98\n256 300\n"),
                 p + "4: merge 1 uses id 300, but only ids 0..256 are defined"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerges 2\n97 98\n97 98\n"), p + "4: merge 1 (97 98) repeats"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerges 3\n97 98\n256 99\n"),
                 p + "4: the file ends after 2 merges; the header announced 3"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerges 1\n97 98\n99 100\n"),
                 p + "4: more merge lines than the 1"));
  CHECK(contains(load_error("loglin-tokenizer bpe 1\nmerges 1\n-1 98\n"), p + "3: expected a merge"));
  CHECK_THROWS_AS(BpeTokenizer::load(path), loglin::Error);
  // Comments, CRLF endings and trailing comments are fine.
  write_text(path, "loglin-tokenizer bpe 1\r\n# made by hand\r\nmerges 2\r\n97 98  # ab\r\n256 99\r\n");
  BpeTokenizer ok = BpeTokenizer::load(path);
  CHECK(ok.encode("abc") == std::vector<int32_t>{257});
  std::remove(path.c_str());
  CHECK(contains(error_message([] { BpeTokenizer::load("no/such/file.bpe"); }),
                 "[tokenizer] cannot read 'no/such/file.bpe'"));
}

TEST_CASE("tokenizer: merges must use ids defined before them", "[train]") {
  CHECK_THROWS_AS(BpeTokenizer({{97, 256}}), loglin::Error);
  CHECK(contains(error_message([] { BpeTokenizer({{97, 98}, {97, 98}}); }), "merge 1 repeats merge 0"));
  BpeTokenizer t({{97, 98}, {256, 256}});
  CHECK(t.piece(257) == "abab");
  CHECK(t.encode("ababab") == std::vector<int32_t>{257, 256});
}

// Text data: the token cache (reuse, rebuild on change, damage detected) and
// the dataset's windows (bounds, reproducibility, resume, validation coverage).
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "catch.h"
#include "test_util.h"
#include "train/data/text_dataset.h"
#include "train/data/token_file.h"

namespace fs = std::filesystem;
using namespace loglin;
using loglin_test::TempDir;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

// A byte-level tokenizer that counts its calls.
struct ByteEncoder {
  int calls = 0;
  EncodeFn fn() {
    return [this](const std::string& s) {
      ++calls;
      return std::vector<int32_t>(s.begin(), s.end());
    };
  }
};

std::string generated_text(int lines) {
  std::string s;
  for (int i = 0; i < lines; ++i) s += fmt::format("line {} of the generated corpus, value {}.\n", i, i * 7919 % 1000);
  return s;
}

std::shared_ptr<const std::vector<int32_t>> counting_tokens(int n) {
  auto v = std::make_shared<std::vector<int32_t>>(n);
  for (int i = 0; i < n; ++i) (*v)[i] = i;
  return v;
}

std::vector<int64_t> ids(const Tensor& t) { return t.to_vector<int64_t>(); }

}  // namespace

TEST_CASE("token cache is built once and reused", "[train][data]") {
  TempDir dir("data_cache");
  const fs::path src = dir.path / "corpus.txt";
  write_text(src, generated_text(50));
  TokenFileOptions opts{src, dir.path / "cache", "byte", 256};
  ByteEncoder enc;

  TokenFile first = TokenFile::open(opts, enc.fn());
  CHECK(first.built());
  CHECK(first.rebuild_reason().empty());
  CHECK(first.path() == dir.path / "cache" / "corpus.byte.tokens");
  CHECK(fs::exists(first.path()));
  CHECK(first.size() == static_cast<int64_t>(fs::file_size(src)));
  CHECK(fs::file_size(first.path()) == 64 + 4 * fs::file_size(src));

  TokenFile second = TokenFile::open(opts, enc.fn());
  CHECK_FALSE(second.built());
  CHECK(enc.calls == 1);
  CHECK(*second.tokens() == *first.tokens());
  CHECK(second.vocab_size() == 256);

  // Nothing but the cache file is in the cache dir (no temporaries).
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "cache")) files += e.is_regular_file();
  CHECK(files == 1);

  SECTION("a changed source is re-tokenized") {
    write_text(src, generated_text(50) + "one more line\n");
    TokenFile again = TokenFile::open(opts, enc.fn());
    CHECK(again.built());
    CHECK(contains(again.rebuild_reason(), "changed"));
    CHECK(enc.calls == 2);
    CHECK(again.size() == first.size() + 14);
  }
  SECTION("a same-size edit is caught by the content hash") {
    std::string text = generated_text(50);
    text[10] = text[10] == 'x' ? 'y' : 'x';
    write_text(src, text);
    CHECK(TokenFile::open(opts, enc.fn()).built());
  }
  SECTION("another tokenizer or vocabulary gets its own or a rebuilt cache") {
    TokenFileOptions other = opts;
    other.tokenizer_id = "byte-v2";
    TokenFile tf = TokenFile::open(other, enc.fn());
    CHECK(tf.built());
    CHECK(tf.path().filename() == "corpus.byte-v2.tokens");
    other = opts;
    other.vocab_size = 300;
    CHECK(contains(TokenFile::open(other, enc.fn()).rebuild_reason(), "vocab size 256"));
  }
  SECTION("a truncated cache is reported by read() and rebuilt by open()") {
    fs::resize_file(first.path(), fs::file_size(first.path()) - 6);
    const std::string msg = error_message([&] { TokenFile::read(first.path()); });
    CHECK(contains(msg, "token cache " + first.path().string() + " is truncated"));
    CHECK(contains(msg, "at byte 24"));
    CHECK_THROWS_AS(TokenFile::read(first.path()), Error);
    TokenFile rebuilt = TokenFile::open(opts, enc.fn());
    CHECK(rebuilt.built());
    CHECK(contains(rebuilt.rebuild_reason(), "truncated"));
    CHECK(*TokenFile::read(first.path()).tokens() == *first.tokens());
  }
  SECTION("a cache shorter than its header, or with a flipped byte, is refused") {
    {
      std::fstream f(first.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(100);
      f.put('\x7f');
    }
    CHECK(contains(error_message([&] { TokenFile::read(first.path()); }), "is corrupt"));
    fs::resize_file(first.path(), 10);
    CHECK(contains(error_message([&] { TokenFile::read(first.path()); }), "shorter than the 64-byte header"));
    write_text(first.path(), std::string(80, 'z'));
    CHECK(contains(error_message([&] { TokenFile::read(first.path()); }), "magic at byte 0"));
    CHECK(TokenFile::open(opts, enc.fn()).built());
  }
}

TEST_CASE("token cache reads a directory of .txt files in sorted order", "[train][data]") {
  TempDir dir("data_dir");
  const fs::path src = dir.path / "books";
  write_text(src / "b.txt", "BBB");
  write_text(src / "a.txt", "AA");
  write_text(src / "sub" / "c.txt", "C");
  write_text(src / "notes.md", "ignored");
  CHECK(read_text_source(src, "|") == "AA|BBB|C");
  ByteEncoder enc;
  TokenFile tf = TokenFile::open({src, dir.path / "cache", "byte", 256, "|"}, enc.fn());
  CHECK(tf.path().filename() == "books.byte.tokens");
  CHECK(*tf.tokens() == std::vector<int32_t>{'A', 'A', '|', 'B', 'B', 'B', '|', 'C'});

  // Adding a file changes the text and so the tokens.
  write_text(src / "d.txt", "D");
  CHECK(TokenFile::open({src, dir.path / "cache", "byte", 256, "|"}, enc.fn()).size() == 10);

  CHECK_THROWS_AS(read_text_source(dir.path / "missing"), Error);
  fs::create_directories(dir.path / "empty");
  CHECK(contains(error_message([&] { read_text_source(dir.path / "empty"); }), "no *.txt files"));
  CHECK_THROWS_AS(TokenFile::open({src, dir.path / "cache", "bad/id", 256}, enc.fn()), Error);
  // A tokenizer that strays outside its vocabulary is caught.
  CHECK(contains(error_message([&] { TokenFile::open({src, dir.path / "cache", "tiny", 60}, enc.fn()); }),
                 "outside the vocabulary"));
}

TEST_CASE("text windows stay inside the training split", "[train][data]") {
  // 100 tokens, 20% validation: training is tokens 0..79.
  TextDataset ds(counting_tokens(100), {.seq_len = 8, .batch_size = 4, .val_fraction = 0.2});
  CHECK(ds.train_tokens() == 80);
  CHECK(ds.val_tokens() == 20);
  Generator gen(5);
  std::set<int64_t> starts;
  for (int i = 0; i < 300; ++i) {
    Batch b = ds.next_train_batch(gen);
    REQUIRE(b.inputs.shape() == Shape{4, 8});
    REQUIRE(b.targets.shape() == Shape{4, 8});
    CHECK(b.inputs.dtype() == DType::i64);
    const auto in = ids(b.inputs), tg = ids(b.targets);
    for (int r = 0; r < 4; ++r) {
      starts.insert(in[r * 8]);
      for (int t = 0; t < 8; ++t) {
        REQUIRE(in[r * 8 + t] == in[r * 8] + t);  // contiguous
        REQUIRE(tg[r * 8 + t] == in[r * 8 + t] + 1);  // shifted by one
      }
      REQUIRE(tg[r * 8 + 7] <= 79);
    }
  }
  // Every start from 0 to 80 - 9 = 71 occurs; nothing beyond.
  CHECK(*starts.begin() == 0);
  CHECK(*starts.rbegin() == 71);
  CHECK(starts.size() == 72);
  CHECK(ds.batches_drawn() == 300);
}

TEST_CASE("text windows are reproducible and resumable", "[train][data]") {
  const TextDatasetOptions opts{.seq_len = 16, .batch_size = 3, .val_fraction = 0.1};
  TextDataset a(counting_tokens(1000), opts), b(counting_tokens(1000), opts);
  Generator ga(77), gb(77);
  for (int i = 0; i < 5; ++i) CHECK(ids(a.next_train_batch(ga).inputs) == ids(b.next_train_batch(gb).inputs));

  // Save the position, run on, then resume a fresh dataset from the text form.
  const std::string saved = a.position(ga).to_string();
  std::vector<std::vector<int64_t>> expected;
  for (int i = 0; i < 4; ++i) expected.push_back(ids(a.next_train_batch(ga).targets));
  TextDataset resumed(counting_tokens(1000), opts);
  Generator gr(0);
  resumed.restore(DataPosition::from_string(saved), gr);
  CHECK(resumed.batches_drawn() == 5);
  for (int i = 0; i < 4; ++i) CHECK(ids(resumed.next_train_batch(gr).targets) == expected[i]);
  CHECK(resumed.batches_drawn() == 9);

  CHECK_THROWS_AS(DataPosition::from_string("five | xoshiro256ss 0 0 0 0 0 0"), Error);
  CHECK_THROWS_AS(DataPosition::from_string("5"), Error);
}

TEST_CASE("validation batches cover the validation split in order", "[train][data]") {
  // 200 tokens, 25% validation = tokens 150..199 (50 tokens); seq_len 7 gives
  // (50 - 1) / 7 = 7 windows, in batches of 3, 3 and 1.
  TextDataset ds(counting_tokens(200), {.seq_len = 7, .batch_size = 3, .val_fraction = 0.25});
  REQUIRE(ds.num_val_windows() == 7);
  REQUIRE(ds.num_val_batches() == 3);
  std::vector<int64_t> targets, inputs;
  for (int64_t i = 0; i < ds.num_val_batches(); ++i) {
    Batch b = ds.val_batch(i);
    CHECK(b.inputs.shape() == Shape{i == 2 ? 1 : 3, 7});
    auto t = ids(b.targets), in = ids(b.inputs);
    targets.insert(targets.end(), t.begin(), t.end());
    inputs.insert(inputs.end(), in.begin(), in.end());
    CHECK(ids(ds.val_batch(i).targets) == t);  // deterministic
  }
  // Each validation token after the first is a target exactly once, in order.
  for (size_t k = 0; k < targets.size(); ++k) CHECK(targets[k] == 151 + static_cast<int64_t>(k));
  CHECK(inputs.front() == 150);
  CHECK(targets.back() == 199);
  CHECK_THROWS_AS(ds.val_batch(3), Error);

  TextDataset no_val(counting_tokens(50), {.seq_len = 7, .batch_size = 2, .val_fraction = 0});
  CHECK(no_val.num_val_batches() == 0);
}

TEST_CASE("text dataset rejects splits too short for a window", "[train][data]") {
  const std::string msg = error_message([] { TextDataset(counting_tokens(20), {.seq_len = 32, .batch_size = 1}); });
  CHECK(contains(msg, "seq_len + 1 = 33"));
  CHECK(contains(
      error_message([] { TextDataset(counting_tokens(100), {.seq_len = 8, .batch_size = 1, .val_fraction = 0.05}); }),
      "validation split"));
  CHECK_THROWS_AS(TextDataset(counting_tokens(100), {.seq_len = 8, .batch_size = 1, .val_fraction = 1.0}), Error);
  CHECK_THROWS_AS(TextDataset(counting_tokens(100), {.seq_len = 0, .batch_size = 1}), Error);
}

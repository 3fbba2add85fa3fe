// `loglin tokenizer train|encode|decode`: fit a byte-level BPE on a corpus
// and inspect what a tokenizer does to text.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <set>
#include <sstream>

#include "core/error.h"
#include "train/cli/arg_parser.h"
#include "train/cli/commands.h"
#include "train/tokenizer/bpe_trainer.h"
#include "train/tokenizer/byte_tokenizer.h"
#include "train/tokenizer/file_io.h"

namespace loglin::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage = R"(usage: loglin tokenizer train --input FILE_OR_DIR --vocab-size N --output PATH
       loglin tokenizer encode --tokenizer PATH (--text TEXT | --file FILE) [--pieces]
       loglin tokenizer decode --tokenizer PATH --ids "ID ID ..."

  train    fit a byte-level BPE tokenizer on a file, or on every file under a
           directory (hidden files skipped, sorted by path), and save it;
           prints corpus size, vocabulary and bytes per token
  encode   print the ids of TEXT (or of FILE's contents); --pieces prints one
           token per line with its bytes instead
  decode   print the text the ids stand for

  --vocab-size N    256 byte ids plus N - 256 merges (e.g. 4096); training
                    stops early when no pair occurs twice
  --tokenizer PATH  a file written by `tokenizer train`, or `byte`
)";

// No positionals: every input of these subcommands is a named option.
Args options(const std::string& sub, const std::vector<std::string>& args, const std::set<std::string>& value_flags,
             const std::set<std::string>& bool_flags = {}) {
  Args o("tokenizer " + sub, std::vector<std::string>(args.begin() + 1, args.end()), value_flags, bool_flags);
  LOGLIN_CHECK(o.positionals().empty(), "[tokenizer {}] unexpected argument '{}' (see loglin tokenizer --help)", sub,
               o.positionals().empty() ? "" : o.positionals()[0]);
  LOGLIN_CHECK(o.sets().empty(), "[tokenizer {}] takes no --set", sub);
  return o;
}

std::string need(const Args& o, const std::string& flag, const std::string& sub) {
  const std::string v = o.get(flag, "");
  LOGLIN_CHECK(!v.empty(), "[tokenizer {}] needs {}", sub, flag);
  return v;
}

std::vector<fs::path> corpus_files(const std::string& input) {
  std::error_code ec;
  LOGLIN_CHECK(fs::exists(input, ec), "[tokenizer train] --input '{}' does not exist", input);
  if (!fs::is_directory(input, ec)) return {fs::path(input)};
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(input, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.push_back(it->path());
  }
  LOGLIN_CHECK(!ec, "[tokenizer train] cannot list '{}': {}", input, ec.message());
  LOGLIN_CHECK(!files.empty(), "[tokenizer train] --input directory '{}' holds no files", input);
  std::sort(files.begin(), files.end());
  return files;
}

std::unique_ptr<Tokenizer> open_tokenizer(const std::string& path) {
  std::error_code ec;
  if (path == "byte" && !fs::exists(path, ec)) return std::make_unique<ByteTokenizer>();
  return load_tokenizer(path);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int train(const std::vector<std::string>& args) {
  Args o = options("train", args, {"--input", "--vocab-size", "--output"});
  const std::string input = need(o, "--input", "train"), output = need(o, "--output", "train");
  need(o, "--vocab-size", "train");
  const int64_t vocab = o.get_int("--vocab-size", 0);
  LOGLIN_CHECK(vocab >= 256 && vocab <= (1 << 24),
               "[tokenizer train] --vocab-size must be in [256, 16777216] (256 byte ids plus merges), got {}", vocab);

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<fs::path> files = corpus_files(input);
  BpeTrainer trainer;
  for (const auto& f : files) trainer.add_text(read_file(f.string(), "tokenizer"));
  fmt::print(stderr, "read {} file{}, {} bytes, in {:.1f} s\n", files.size(), files.size() == 1 ? "" : "s",
             trainer.bytes_seen(), seconds_since(t0));

  const auto t1 = std::chrono::steady_clock::now();
  double last = 0;
  BpeTokenizer tok = trainer.train(int(vocab), [&](int done, int total) {
    const double s = seconds_since(t1);
    if (s - last >= 2.0 || done == total) {
      last = s;
      fmt::print(stderr, "merge {}/{} ({:.0f}%), {:.1f} s\n", done, total, 100.0 * done / std::max(1, total), s);
    }
  });
  const double train_s = seconds_since(t1);
  tok.save(output);

  // Bytes per token, measured on the corpus itself (its first 16 MB).
  constexpr int64_t kSample = int64_t(16) << 20;
  int64_t bytes = 0, tokens = 0;
  for (const auto& f : files) {
    if (bytes >= kSample) break;
    std::string text = read_file(f.string(), "tokenizer");
    if (bytes + int64_t(text.size()) > kSample) text.resize(size_t(kSample - bytes));
    bytes += int64_t(text.size());
    tokens += int64_t(tok.encode(text).size());
  }
  fmt::print("corpus:      {} ({} file{}, {} bytes)\n", input, files.size(), files.size() == 1 ? "" : "s",
             trainer.bytes_seen());
  fmt::print("vocab:       {} ({} merges{})\n", tok.vocab_size(), tok.merges().size(),
             tok.vocab_size() < vocab ? fmt::format("; stopped early, no pair occurs twice") : "");
  fmt::print("compression: {:.3f} bytes/token ({} bytes -> {} tokens{})\n",
             tokens ? double(bytes) / double(tokens) : 0.0, bytes, tokens,
             bytes < trainer.bytes_seen() ? ", on the first 16 MB" : "");
  fmt::print("trained in {:.1f} s; saved {}\n", train_s, output);
  return 0;
}

int encode(const std::vector<std::string>& args) {
  Args o = options("encode", args, {"--tokenizer", "--text", "--file"}, {"--pieces"});
  auto tok = open_tokenizer(need(o, "--tokenizer", "encode"));
  LOGLIN_CHECK(o.has("--text") != o.has("--file"), "[tokenizer encode] needs one of --text or --file");
  const std::string text = o.has("--text") ? o.get("--text", "") : read_file(o.get("--file", ""), "tokenizer");
  const std::vector<int32_t> ids = tok->encode(text);
  if (o.has("--pieces")) {
    for (int32_t id : ids) fmt::print("{}\t{}\n", id, printable(tok->decode({id}), 80));
  } else {
    std::string line;
    for (int32_t id : ids) fmt::format_to(std::back_inserter(line), "{}{}", line.empty() ? "" : " ", id);
    fmt::print("{}\n", line);
  }
  fmt::print(stderr, "{} bytes -> {} tokens ({}, vocab {})\n", text.size(), ids.size(), tok->name(), tok->vocab_size());
  return 0;
}

int decode(const std::vector<std::string>& args) {
  Args o = options("decode", args, {"--tokenizer", "--ids"});
  auto tok = open_tokenizer(need(o, "--tokenizer", "decode"));
  std::istringstream in(need(o, "--ids", "decode"));
  std::vector<int32_t> ids;
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long v = -1;
    try {
      v = std::stol(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    LOGLIN_CHECK(used == word.size() && v >= INT32_MIN && v <= INT32_MAX, "[tokenizer decode] --ids: '{}' is not an id",
                 word);
    ids.push_back(int32_t(v));
  }
  const std::string text = tok->decode(ids);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace

int tokenizer_command(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  for (const auto& a : args)
    if (a == "-h" || a == "--help" || a == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  if (args[0] == "train") return train(args);
  if (args[0] == "encode") return encode(args);
  if (args[0] == "decode") return decode(args);
  LOGLIN_FAIL("[tokenizer] unknown subcommand '{}' (expected train, encode or decode; see loglin tokenizer --help)",
              args[0]);
}

}  // namespace loglin::cli

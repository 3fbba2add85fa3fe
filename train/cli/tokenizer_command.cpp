// `loglin tokenizer train|encode|decode`: fit a byte-level BPE on a corpus
// and inspect what a tokenizer does to text.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <sstream>

#include "core/error.h"
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

using Args = std::map<std::string, std::string>;

// --name VALUE pairs (and bare flags listed in flags) into a map.
Args parse_options(const std::vector<std::string>& args, size_t from, const std::vector<std::string>& names,
                   const std::vector<std::string>& flags) {
  Args out;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (std::find(flags.begin(), flags.end(), a) != flags.end()) {
      out[a] = std::string(1, '1');
      continue;
    }
    LOGLIN_CHECK(std::find(names.begin(), names.end(), a) != names.end(),
                 "[tokenizer] unknown option '{}' for `tokenizer {}` (see loglin tokenizer --help)", a, args[0]);
    LOGLIN_CHECK(i + 1 < args.size(), "[tokenizer] {} needs a value", a);
    out[a] = args[++i];
  }
  return out;
}

std::string need(const Args& o, const std::string& name, const std::string& cmd) {
  auto it = o.find(name);
  LOGLIN_CHECK(it != o.end() && !it->second.empty(), "[tokenizer] `tokenizer {}` needs {}", cmd, name);
  return it->second;
}

std::vector<fs::path> corpus_files(const std::string& input) {
  std::error_code ec;
  LOGLIN_CHECK(fs::exists(input, ec), "[tokenizer] --input '{}' does not exist", input);
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
  LOGLIN_CHECK(!ec, "[tokenizer] cannot list '{}': {}", input, ec.message());
  LOGLIN_CHECK(!files.empty(), "[tokenizer] --input directory '{}' holds no files", input);
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
  Args o = parse_options(args, 1, {"--input", "--vocab-size", "--output"}, {});
  const std::string input = need(o, "--input", "train"), output = need(o, "--output", "train");
  const std::string vs = need(o, "--vocab-size", "train");
  int vocab = 0;
  try {
    size_t used = 0;
    vocab = std::stoi(vs, &used);
    if (used != vs.size()) vocab = -1;
  } catch (const std::exception&) {
    vocab = -1;
  }
  LOGLIN_CHECK(vocab >= 256, "[tokenizer] --vocab-size must be an integer >= 256 (the byte ids), got '{}'", vs);

  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<fs::path> files = corpus_files(input);
  BpeTrainer trainer;
  for (const auto& f : files) trainer.add_text(read_file(f.string(), "tokenizer"));
  fmt::print(stderr, "read {} file{}, {} bytes, in {:.1f} s\n", files.size(), files.size() == 1 ? "" : "s",
             trainer.bytes_seen(), seconds_since(t0));

  const auto t1 = std::chrono::steady_clock::now();
  double last = 0;
  BpeTokenizer tok = trainer.train(vocab, [&](int done, int total) {
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
  Args o = parse_options(args, 1, {"--tokenizer", "--text", "--file"}, {"--pieces"});
  auto tok = open_tokenizer(need(o, "--tokenizer", "encode"));
  LOGLIN_CHECK(o.count("--text") != o.count("--file"), "[tokenizer] `tokenizer encode` needs one of --text or --file");
  const std::string text = o.count("--text") ? o["--text"] : read_file(o["--file"], "tokenizer");
  const std::vector<int32_t> ids = tok->encode(text);
  if (o.count("--pieces")) {
    for (int32_t id : ids) fmt::print("{}\t{}\n", id, printable(tok->decode({id}), 80));
  } else {
    std::string line;
    for (int32_t id : ids) fmt::format_to(std::back_inserter(line), "{}{}", line.empty() ? "" : " ", id);
    fmt::print("{}\n", line);
  }
  fmt::print(stderr, "{} bytes -> {} tokens ({}, vocab {})\n", text.size(), ids.size(), tok->name(),
             tok->vocab_size());
  return 0;
}

int decode(const std::vector<std::string>& args) {
  Args o = parse_options(args, 1, {"--tokenizer", "--ids"}, {});
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
    LOGLIN_CHECK(used == word.size() && v >= INT32_MIN && v <= INT32_MAX, "[tokenizer] --ids: '{}' is not an id",
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

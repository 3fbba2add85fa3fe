#include "train/data/token_file.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "train/checkpoint/file_io.h"

namespace fs = std::filesystem;

namespace loglin {
static_assert(std::endian::native == std::endian::little, "the token cache is little-endian");

namespace {

constexpr char kMagic[8] = {'L', 'L', 'T', 'O', 'K', 'E', 'N', 'S'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderSize = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t token_bytes;
  int64_t vocab_size;
  uint64_t count;
  uint64_t source_size;
  uint64_t source_hash;
  uint64_t tokenizer_hash;
  uint64_t tokens_hash;
};
static_assert(sizeof(Header) == kHeaderSize);

std::string read_whole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  LOGLIN_CHECK(in, "[data] cannot open {}", p.string());
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LOGLIN_CHECK(!in.bad(), "[data] error reading {}", p.string());
  return s;
}

}  // namespace

std::string read_text_source(const fs::path& source, const std::string& separator) {
  return read_text_files(source, separator).text;
}

SourceText read_text_files(const fs::path& source, const std::string& separator) {
  std::error_code ec;
  LOGLIN_CHECK(fs::exists(source, ec), "[data] text source {} does not exist", source.string());
  SourceText out;
  if (!fs::is_directory(source, ec)) {
    out.text = read_whole(source);
    out.files.push_back({0, static_cast<int64_t>(out.text.size())});
    return out;
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(source)) {
    if (e.is_regular_file() && e.path().extension() == ".txt") files.push_back(e.path());
  }
  LOGLIN_CHECK(!files.empty(), "[data] directory {} holds no *.txt files", source.string());
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i < files.size(); ++i) {
    if (i) out.text += separator;
    const int64_t begin = static_cast<int64_t>(out.text.size());
    out.text += read_whole(files[i]);
    out.files.push_back({begin, static_cast<int64_t>(out.text.size())});
  }
  return out;
}

fs::path token_cache_path(const TokenFileOptions& opts) {
  LOGLIN_CHECK(!opts.tokenizer_id.empty() && std::all_of(opts.tokenizer_id.begin(), opts.tokenizer_id.end(),
                                                          [](char c) {
                                                            return std::isalnum(static_cast<unsigned char>(c)) ||
                                                                   c == '.' || c == '_' || c == '-';
                                                          }),
               "[data] tokenizer id '{}' must be non-empty and use only letters, digits, '.', '_' and '-'",
               opts.tokenizer_id);
  fs::path src = opts.source.lexically_normal();
  if (src.filename().empty()) src = src.parent_path();  // "dir/" names the directory
  std::error_code ec;
  const bool is_dir = fs::is_directory(src, ec);
  std::string name = is_dir ? src.filename().string() : src.stem().string();
  if (name.empty() || name == "." || name == "..") name = fs::absolute(src).lexically_normal().filename().string();
  if (name.empty()) name = "text";
  return opts.cache_dir / (name + "." + opts.tokenizer_id + ".tokens");
}

TokenFile TokenFile::read(const fs::path& cache_path) {
  const std::string name = cache_path.string();
  const std::string bytes = read_whole(cache_path);
  LOGLIN_CHECK(bytes.size() >= kHeaderSize,
               "[data] token cache {} is truncated: {} bytes, shorter than the {}-byte header", name, bytes.size(),
               kHeaderSize);
  Header h;
  std::memcpy(&h, bytes.data(), sizeof h);
  LOGLIN_CHECK(std::memcmp(h.magic, kMagic, sizeof kMagic) == 0,
               "[data] {}: no LLTOKENS magic at byte 0 (not a loglin token cache)", name);
  LOGLIN_CHECK(h.version == kVersion, "[data] {}: version {} at byte 8 (this build reads {})", name, h.version,
               kVersion);
  LOGLIN_CHECK(h.token_bytes == 4, "[data] {}: {} bytes per token at byte 12 (expected 4)", name, h.token_bytes);
  LOGLIN_CHECK(h.vocab_size > 0, "[data] {}: vocab size {} at byte 16 is not positive", name, h.vocab_size);
  const uint64_t have = bytes.size() - kHeaderSize;
  LOGLIN_CHECK(h.count <= have / 4,
               "[data] token cache {} is truncated: header at byte 24 says {} tokens ({} bytes), file has {} bytes "
               "after the header",
               name, h.count, h.count * 4, have);
  LOGLIN_CHECK(h.count * 4 == have, "[data] {}: {} unexpected bytes after the last token, at byte {}", name,
               have - h.count * 4, kHeaderSize + h.count * 4);
  const uint64_t got_hash = io::fnv1a64(bytes.data() + kHeaderSize, have);
  LOGLIN_CHECK(got_hash == h.tokens_hash,
               "[data] token cache {} is corrupt: the tokens (bytes {}..{}) do not match the checksum at byte 56",
               name, kHeaderSize, bytes.size());

  auto tokens = std::make_shared<std::vector<int32_t>>(h.count);
  if (h.count) std::memcpy(tokens->data(), bytes.data() + kHeaderSize, h.count * 4);
  for (uint64_t i = 0; i < h.count; ++i) {
    const int32_t t = (*tokens)[i];
    LOGLIN_CHECK(t >= 0 && t < h.vocab_size, "[data] {}: token {} at byte {} is outside the vocabulary [0, {})", name,
                 t, kHeaderSize + 4 * i, h.vocab_size);
  }
  TokenFile tf;
  tf.tokens_ = std::move(tokens);
  tf.vocab_size_ = h.vocab_size;
  tf.source_size_ = h.source_size;
  tf.source_hash_ = h.source_hash;
  tf.tokenizer_hash_ = h.tokenizer_hash;
  tf.path_ = cache_path;
  return tf;
}

TokenFile TokenFile::open(const TokenFileOptions& opts, const EncodeFn& encode) {
  LOGLIN_CHECK(opts.vocab_size > 0, "[data] vocab size {} is not positive", opts.vocab_size);
  const fs::path path = token_cache_path(opts);
  const std::string text = read_text_source(opts.source, opts.separator);
  const uint64_t source_hash = io::fnv1a64(text);
  const uint64_t tokenizer_hash = io::fnv1a64(opts.tokenizer_id);

  std::string reason;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      TokenFile tf = read(path);
      if (tf.source_size_ != text.size() || tf.source_hash_ != source_hash) {
        reason = fmt::format("{} changed since {} was written", opts.source.string(), path.string());
      } else if (tf.tokenizer_hash_ != tokenizer_hash) {
        reason = fmt::format("{} was written by another tokenizer", path.string());
      } else if (tf.vocab_size_ != opts.vocab_size) {
        reason = fmt::format("{} has vocab size {}, not {}", path.string(), tf.vocab_size_, opts.vocab_size);
      } else {
        return tf;
      }
    } catch (const Error& e) {
      reason = e.what();
    }
  }

  std::vector<int32_t> tokens = encode(text);
  for (size_t i = 0; i < tokens.size(); ++i) {
    LOGLIN_CHECK(tokens[i] >= 0 && tokens[i] < opts.vocab_size,
                 "[data] tokenizer '{}' gave token {} at position {} of {}, outside the vocabulary [0, {})",
                 opts.tokenizer_id, tokens[i], i, opts.source.string(), opts.vocab_size);
  }
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.token_bytes = 4;
  h.vocab_size = opts.vocab_size;
  h.count = tokens.size();
  h.source_size = text.size();
  h.source_hash = source_hash;
  h.tokenizer_hash = tokenizer_hash;
  h.tokens_hash = io::fnv1a64(tokens.data(), tokens.size() * 4);
  fs::create_directories(opts.cache_dir, ec);
  LOGLIN_CHECK(!ec, "[data] cannot create cache directory {}: {}", opts.cache_dir.string(), ec.message());
  io::write_file_atomic(path, [&](const io::ChunkWriter& put) {
    put(&h, sizeof h);
    put(tokens.data(), tokens.size() * 4);
  });

  TokenFile tf;
  tf.tokens_ = std::make_shared<const std::vector<int32_t>>(std::move(tokens));
  tf.vocab_size_ = opts.vocab_size;
  tf.source_size_ = text.size();
  tf.source_hash_ = source_hash;
  tf.tokenizer_hash_ = tokenizer_hash;
  tf.path_ = path;
  tf.built_ = true;
  tf.rebuild_reason_ = std::move(reason);
  return tf;
}

}  // namespace loglin

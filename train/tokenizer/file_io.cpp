#include "train/tokenizer/file_io.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "train/checkpoint/file_io.h"

namespace loglin {

std::string read_file(const std::string& path, const char* who) {
  std::error_code ec;
  LOGLIN_CHECK(!std::filesystem::is_directory(path, ec), "[{}] '{}' is a directory, not a file", who, path);
  std::ifstream in(path, std::ios::binary);
  LOGLIN_CHECK(in.good(), "[{}] cannot read '{}': {}", who, path, std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  LOGLIN_CHECK(!in.bad(), "[{}] error while reading '{}'", who, path);
  return s.str();
}

void write_file_atomic(const std::string& path, std::string_view data, const char* who) {
  // `--output models/tok.bpe` should not need a separate mkdir.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  LOGLIN_CHECK(!ec, "[{}] cannot create the directory '{}': {}", who, parent.string(), ec.message());
  io::write_file_atomic(path, data);
}

std::string printable(std::string_view s, size_t max_len) {
  std::string out;
  for (unsigned char c : s.substr(0, max_len)) {
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += char(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (s.size() > max_len) out += "...";
  return out;
}

bool TextLines::raw_next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  if (end == std::string::npos) end = text_.size();
  line = std::string_view(text_).substr(pos_, end - pos_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos_ = end + 1;
  ++line_no_;
  return true;
}

bool TextLines::next(std::string_view& line) {
  while (raw_next(line))
    if (line.empty() || line[0] != '#') return true;
  return false;
}

void TextLines::fail(const std::string& msg) const {
  LOGLIN_FAIL("[tokenizer] {}:{}: {}", path_, line_no_ == 0 ? 1 : line_no_, msg);
}

void TextLines::expect_header(std::string_view kind, int max_version) {
  std::string_view line;
  if (!raw_next(line)) fail("empty file, not a loglin tokenizer file");
  std::istringstream in{std::string(line)};
  std::string magic, got_kind, version, extra;
  in >> magic >> got_kind >> version;
  if (magic != kTokenizerMagic || got_kind.empty() || version.empty() || (in >> extra))
    fail(fmt::format("not a loglin tokenizer file: expected '{} {} {}' as the first line, got '{}'", kTokenizerMagic,
                     kind, max_version, printable(line)));
  if (got_kind != kind) fail(fmt::format("this is a '{}' tokenizer file, not a '{}' one", got_kind, kind));
  int v = 0;
  try {
    size_t used = 0;
    v = std::stoi(version, &used);
    if (used != version.size()) v = -1;
  } catch (const std::exception&) {
    v = -1;
  }
  if (v < 1) fail(fmt::format("bad format version '{}'", printable(version)));
  if (v > max_version)
    fail(fmt::format("format version {} is newer than this build reads ({}); update loglin", v, max_version));
}

}  // namespace loglin

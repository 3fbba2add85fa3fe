// File helpers for tokenizer files: whole-file reads, atomic writes, and a
// line reader whose errors name the file and line.
#pragma once
#include <string>
#include <string_view>

namespace loglin {

inline constexpr const char* kTokenizerMagic = "loglin-tokenizer";

// The whole file; errors start with "[who]" and name the path.
std::string read_file(const std::string& path, const char* who);

// io::write_file_atomic (temporary file, fsync, rename: a reader never sees
// half a file), after creating missing parent directories.
void write_file_atomic(const std::string& path, std::string_view data, const char* who);

// Printable form of a line for error messages: escapes non-printing bytes
// and cuts it to max_len.
std::string printable(std::string_view s, size_t max_len = 60);

// Lines of a tokenizer file. Lines starting with '#' are comments after the
// header; "\r\n" endings are accepted.
class TextLines {
 public:
  TextLines(std::string text, std::string path) : text_(std::move(text)), path_(std::move(path)) {}
  // Reads line 1, "loglin-tokenizer <kind> <version>", and checks both.
  void expect_header(std::string_view kind, int max_version);
  // The next non-comment line; false at the end of the file.
  bool next(std::string_view& line);
  int line_number() const { return line_no_; }
  // Throws "[tokenizer] PATH:LINE: msg" for the line last read.
  [[noreturn]] void fail(const std::string& msg) const;

 private:
  bool raw_next(std::string_view& line);
  std::string text_, path_;
  size_t pos_ = 0;
  int line_no_ = 0;
};

}  // namespace loglin

#include "train/checkpoint/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace loglin::json {

Value::Value(uint64_t v) : Value(static_cast<int64_t>(v)) {
  LOGLIN_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "[json] integer {} is too large", v);
}

namespace {
const char* kind_name(Value::Kind k) {
  switch (k) {
    case Value::Kind::null: return "null";
    case Value::Kind::boolean: return "a boolean";
    case Value::Kind::integer: return "an integer";
    case Value::Kind::number: return "a number";
    case Value::Kind::string: return "a string";
    case Value::Kind::array: return "an array";
    case Value::Kind::object: return "an object";
  }
  return "?";
}
}  // namespace

#define LOGLIN_JSON_EXPECT(cond, want) \
  LOGLIN_CHECK(cond, "[json] expected {}, found {}", want, kind_name(kind_))

bool Value::as_bool() const {
  LOGLIN_JSON_EXPECT(is_bool(), "a boolean");
  return bool_;
}
int64_t Value::as_int() const {
  LOGLIN_JSON_EXPECT(is_integer(), "an integer");
  return int_;
}
double Value::as_double() const {
  LOGLIN_JSON_EXPECT(is_number(), "a number");
  return num_;
}
const std::string& Value::as_string() const {
  LOGLIN_JSON_EXPECT(is_string(), "a string");
  return *str_;
}
const Value::Array& Value::as_array() const {
  LOGLIN_JSON_EXPECT(is_array(), "an array");
  return *arr_;
}
const Value::Object& Value::as_object() const {
  LOGLIN_JSON_EXPECT(is_object(), "an object");
  return *obj_;
}
// Copy-on-write: a value copied before being edited must not change.
Value::Array& Value::as_array() {
  LOGLIN_JSON_EXPECT(is_array(), "an array");
  if (arr_.use_count() > 1) arr_ = std::make_shared<Array>(*arr_);
  return *arr_;
}
Value::Object& Value::as_object() {
  LOGLIN_JSON_EXPECT(is_object(), "an object");
  if (obj_.use_count() > 1) obj_ = std::make_shared<Object>(*obj_);
  return *obj_;
}

bool Value::contains(const std::string& key) const { return is_object() && obj_->count(key) > 0; }

const Value& Value::at(const std::string& key) const {
  const Object& o = as_object();
  auto it = o.find(key);
  LOGLIN_CHECK(it != o.end(), "[json] missing key \"{}\"", key);
  return it->second;
}

void append_quoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::string Value::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

void Value::dump_to(std::string& out) const {
  switch (kind_) {
    case Kind::null: out += "null"; break;
    case Kind::boolean: out += bool_ ? "true" : "false"; break;
    case Kind::integer: out += std::to_string(int_); break;
    case Kind::number:
      LOGLIN_CHECK(std::isfinite(num_), "[json] cannot write the non-finite number {}", num_);
      out += fmt::format("{}", num_);  // shortest text that reads back exactly
      break;
    case Kind::string: append_quoted(out, *str_); break;
    case Kind::array: {
      out.push_back('[');
      for (size_t i = 0; i < arr_->size(); ++i) {
        if (i) out.push_back(',');
        (*arr_)[i].dump_to(out);
      }
      out.push_back(']');
      break;
    }
    case Kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, v] : *obj_) {
        if (!first) out.push_back(',');
        first = false;
        append_quoted(out, k);
        out.push_back(':');
        v.dump_to(out);
      }
      out.push_back('}');
      break;
    }
  }
}

// ---- parser ----
namespace {

class Parser {
 public:
  Parser(std::string_view text, std::string_view where, uint64_t base) : s_(text), where_(where), base_(base) {}

  Value document() {
    ws();
    Value v = value(0);
    ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  // Deep nesting would overflow the stack on hostile input.
  static constexpr int kMaxDepth = 128;

  [[noreturn]] void fail(const std::string& why) const {
    LOGLIN_FAIL("{}: invalid JSON at byte {}: {}", where_, base_ + i_, why);
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (i_ >= s_.size()) fail(fmt::format("expected '{}', found the end of the text", c));
    if (s_[i_] != c) fail(fmt::format("expected '{}', found '{}'", c, s_[i_]));
    ++i_;
  }
  void literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) fail(fmt::format("expected '{}'", word));
    i_ += word.size();
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nested too deeply");
    if (i_ >= s_.size()) fail("expected a value, found the end of the text");
    switch (s_[i_]) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return Value(string());
      case 't': literal("true"); return Value(true);
      case 'f': literal("false"); return Value(false);
      case 'n': literal("null"); return Value();
      default:
        if (s_[i_] == '-' || (s_[i_] >= '0' && s_[i_] <= '9')) return number();
        fail(fmt::format("unexpected character '{}'", s_[i_]));
    }
  }

  Value object(int depth) {
    expect('{');
    Value::Object o;
    ws();
    if (peek() == '}') {
      ++i_;
      return Value(std::move(o));
    }
    while (true) {
      ws();
      if (peek() != '"') fail("expected a quoted key");
      size_t key_at = i_;
      std::string key = string();
      ws();
      expect(':');
      ws();
      Value v = value(depth + 1);
      if (!o.emplace(std::move(key), std::move(v)).second) {
        i_ = key_at;
        fail("duplicate key");
      }
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      return Value(std::move(o));
    }
  }

  Value array(int depth) {
    expect('[');
    Value::Array a;
    ws();
    if (peek() == ']') {
      ++i_;
      return Value(std::move(a));
    }
    while (true) {
      ws();
      a.push_back(value(depth + 1));
      ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect(']');
      return Value(std::move(a));
    }
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  static void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out.push_back(c);
        ++i_;
        continue;
      }
      ++i_;
      if (i_ >= s_.size()) fail("unterminated string");
      char e = s_[i_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair encodes one code point
            if (s_.substr(i_, 2) != "\\u") fail("unpaired surrogate in \\u escape");
            i_ += 2;
            uint32_t lo = hex4();
            if (lo < 0xDC00 || lo >= 0xE000) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            fail("unpaired surrogate in \\u escape");
          }
          put_utf8(out, cp);
          break;
        }
        default: --i_; fail(fmt::format("bad escape '\\{}'", e));
      }
    }
  }

  Value number() {
    size_t start = i_;
    bool integral = true;
    if (peek() == '-') ++i_;
    if (peek() == '0') {
      ++i_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') ++i_;
    } else {
      fail("bad number");
    }
    if (peek() == '.') {
      integral = false;
      ++i_;
      if (!(peek() >= '0' && peek() <= '9')) fail("bad number: digits must follow '.'");
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!(peek() >= '0' && peek() <= '9')) fail("bad number: digits must follow the exponent");
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    std::string_view tok = s_.substr(start, i_ - start);
    if (integral) {
      int64_t v = 0;
      auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      if (r.ec == std::errc() && r.ptr == tok.data() + tok.size()) return Value(v);
      // Too large for int64: fall through and keep it as a double.
    }
    // strtod needs a terminated string; numbers are short.
    std::string copy(tok);
    char* end = nullptr;
    double d = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size()) {
      i_ = start;
      fail("bad number");
    }
    return Value(d);
  }

  std::string_view s_;
  std::string_view where_;
  uint64_t base_;
  size_t i_ = 0;
};

}  // namespace

Value Value::parse(std::string_view text, std::string_view where, uint64_t base_offset) {
  return Parser(text, where, base_offset).document();
}

}  // namespace loglin::json

// A small JSON value with a strict parser and a compact writer: enough for
// safetensors headers and checkpoint state files, without a new dependency.
//
// Objects keep their keys sorted (std::map), so dump() is deterministic.
// Integers are kept exactly (int64) apart from other numbers, because
// safetensors offsets may exceed what a double holds exactly.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace loglin::json {

class Value {
 public:
  enum class Kind { null, boolean, integer, number, string, array, object };
  using Array = std::vector<Value>;
  using Object = std::map<std::string, Value>;

  Value() = default;  // null
  Value(bool b) : kind_(Kind::boolean), bool_(b) {}
  Value(int v) : Value(static_cast<int64_t>(v)) {}
  Value(int64_t v) : kind_(Kind::integer), int_(v), num_(static_cast<double>(v)) {}
  Value(uint64_t v);  // must fit in int64
  Value(double v) : kind_(Kind::number), num_(v) {}
  Value(const char* s) : Value(std::string(s)) {}
  Value(std::string s) : kind_(Kind::string), str_(std::make_shared<std::string>(std::move(s))) {}
  Value(Array a) : kind_(Kind::array), arr_(std::make_shared<Array>(std::move(a))) {}
  Value(Object o) : kind_(Kind::object), obj_(std::make_shared<Object>(std::move(o))) {}

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_bool() const { return kind_ == Kind::boolean; }
  bool is_integer() const { return kind_ == Kind::integer; }
  bool is_number() const { return kind_ == Kind::integer || kind_ == Kind::number; }
  bool is_string() const { return kind_ == Kind::string; }
  bool is_array() const { return kind_ == Kind::array; }
  bool is_object() const { return kind_ == Kind::object; }

  // Accessors throw loglin::Error on a kind mismatch.
  bool as_bool() const;
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;
  Array& as_array();
  Object& as_object();

  // Object helpers: contains() is false for non-objects; at() throws naming the key.
  bool contains(const std::string& key) const;
  const Value& at(const std::string& key) const;

  std::string dump() const;  // compact, no spaces

  // Parses one JSON document (trailing whitespace allowed). Errors read
  // "<where>: invalid JSON at byte N: <reason>", N counted from base_offset,
  // so a caller that embeds JSON in a file can report the file's offset.
  static Value parse(std::string_view text, std::string_view where = "json", uint64_t base_offset = 0);

 private:
  void dump_to(std::string& out) const;

  Kind kind_ = Kind::null;
  bool bool_ = false;
  int64_t int_ = 0;
  double num_ = 0;
  // Shared so copies are cheap; values are treated as immutable once built
  // (the mutable accessors are for building, before sharing).
  std::shared_ptr<std::string> str_;
  std::shared_ptr<Array> arr_;
  std::shared_ptr<Object> obj_;
};

// Appends s as a quoted JSON string to out.
void append_quoted(std::string& out, std::string_view s);

}  // namespace loglin::json

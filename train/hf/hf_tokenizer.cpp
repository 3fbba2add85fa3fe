#include "train/hf/hf_tokenizer.h"

#include "train/checkpoint/json.h"
#include "train/hf/hf_json.h"

namespace loglin::hf {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
// the other 68 bytes take the code points 256, 257, ... in byte order.
uint32_t code_point(unsigned char b) {
  auto printable = [](unsigned c) { return (c >= 0x21 && c <= 0x7E) || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE); };
  if (printable(b)) return b;
  uint32_t n = 0;
  for (unsigned c = 0; c < b; ++c) n += printable(c) ? 0 : 1;
  return 256 + n;
}

std::string utf8(uint32_t cp) {  // cp < 0x800 here
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

json::Value byte_level(bool regex) {
  json::Value::Object o;
  o.emplace("type", "ByteLevel");
  o.emplace("add_prefix_space", false);
  o.emplace("trim_offsets", false);
  o.emplace("use_regex", regex);
  return json::Value(std::move(o));
}

}  // namespace

std::string byte_level_char(unsigned char b) { return utf8(code_point(b)); }

std::string byte_tokenizer_json() {
  json::Value::Object vocab;
  for (int b = 0; b < 256; ++b) vocab.emplace(byte_level_char(static_cast<unsigned char>(b)), b);
  json::Value::Object model;
  model.emplace("type", "BPE");
  model.emplace("dropout", json::Value());
  model.emplace("unk_token", json::Value());
  model.emplace("continuing_subword_prefix", json::Value());
  model.emplace("end_of_word_suffix", json::Value());
  model.emplace("fuse_unk", false);
  model.emplace("byte_fallback", false);
  model.emplace("ignore_merges", false);
  model.emplace("vocab", json::Value(std::move(vocab)));
  model.emplace("merges", json::Value::Array{});
  json::Value::Object t;
  t.emplace("version", "1.0");
  t.emplace("truncation", json::Value());
  t.emplace("padding", json::Value());
  t.emplace("added_tokens", json::Value::Array{});
  t.emplace("normalizer", json::Value());
  t.emplace("pre_tokenizer", byte_level(false));  // no split: every byte is its own token anyway
  t.emplace("post_processor", json::Value());
  t.emplace("decoder", byte_level(false));
  t.emplace("model", json::Value(std::move(model)));
  return dump_config(t);
}

std::string byte_tokenizer_config_json(int64_t max_length) {
  json::Value::Object c;
  c.emplace("tokenizer_class", "PreTrainedTokenizerFast");
  c.emplace("model_max_length", max_length);
  c.emplace("clean_up_tokenization_spaces", false);
  return dump_config(c);
}

}  // namespace loglin::hf

#include "train/checkpoint/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <functional>

#include "train/checkpoint/file_io.h"
#include "train/checkpoint/json.h"

namespace loglin {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps");

namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // as the reference reader: refuse absurd headers

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;  // relative to the data section
};

const char* dtype_names[] = {"F32", "F64", "BF16", "I32", "I64"};
const DType dtype_values[] = {DType::f32, DType::f64, DType::bf16, DType::i32, DType::i64};

bool dtype_from_safetensors(const std::string& s, DType& out) {
  for (size_t i = 0; i < std::size(dtype_names); ++i) {
    if (s == dtype_names[i]) {
      out = dtype_values[i];
      return true;
    }
  }
  return false;
}

Tensor cpu_contiguous(const Tensor& t) {
  Tensor c = t.device().is_cpu() ? t : t.to(Device::cpu());
  if (!c.is_contiguous()) c = core::contiguous_copy(c);
  return c;
}

// The header text (padded) and the CPU tensors in file order.
std::string build_header(const TensorMap& tensors, const StringMap& metadata, std::vector<Tensor>& ordered) {
  json::Value::Object header;
  if (!metadata.empty()) {
    json::Value::Object meta;
    for (const auto& [k, v] : metadata) meta.emplace(k, json::Value(v));
    header.emplace("__metadata__", json::Value(std::move(meta)));
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LOGLIN_CHECK(name != "__metadata__", "[safetensors] a tensor may not be called __metadata__");
    LOGLIN_CHECK(t.defined(), "[safetensors] tensor '{}' is undefined", name);
    Tensor c = cpu_contiguous(t);
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * dtype_size(c.dtype());
    json::Value::Array shape;
    for (int64_t d : c.shape()) shape.emplace_back(d);
    json::Value::Object entry;
    entry.emplace("dtype", json::Value(safetensors_dtype_name(c.dtype())));
    entry.emplace("shape", json::Value(std::move(shape)));
    entry.emplace("data_offsets", json::Value(json::Value::Array{json::Value(offset), json::Value(offset + bytes)}));
    header.emplace(name, json::Value(std::move(entry)));
    offset += bytes;
    ordered.push_back(std::move(c));
  }
  std::string text = json::Value(std::move(header)).dump();
  // Spaces pad the header so the data section starts 8-byte aligned.
  text.append((8 - (8 + text.size()) % 8) % 8, ' ');
  return text;
}

void write_all(const TensorMap& tensors, const StringMap& metadata, const io::ChunkWriter& put) {
  std::vector<Tensor> ordered;
  std::string header = build_header(tensors, metadata, ordered);
  uint64_t n = header.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  put(len, 8);
  put(header.data(), header.size());
  for (const Tensor& t : ordered) {
    size_t bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    if (bytes) put(t.raw_data(), bytes);
  }
}

// Byte offset of a key in the header text, for error messages; the header's
// start when it cannot be found.
uint64_t key_offset(const std::string& header, const std::string& key) {
  std::string quoted;
  json::append_quoted(quoted, key);
  size_t at = header.find(quoted + ":");
  if (at == std::string::npos) at = header.find(quoted);
  return 8 + (at == std::string::npos ? 0 : at);
}

// Parses and checks a header against a file of `file_size` bytes.
std::vector<Entry> parse_header(const std::string& header, uint64_t file_size, const std::string& name,
                                StringMap& metadata) {
  const uint64_t data_start = 8 + header.size();
  const uint64_t data_size = file_size - data_start;
  LOGLIN_CHECK(!header.empty() && header[0] == '{', "[safetensors] {}: header at byte 8 does not start with '{{'",
               name);
  json::Value root = json::Value::parse(header, "[safetensors] " + name, 8);
  LOGLIN_CHECK(root.is_object(), "[safetensors] {}: header at byte 8 is not a JSON object", name);

  std::vector<Entry> entries;
  for (const auto& [key, v] : root.as_object()) {
    const uint64_t at = key_offset(header, key);
    if (key == "__metadata__") {
      LOGLIN_CHECK(v.is_object(), "[safetensors] {}: __metadata__ at byte {} is not an object", name, at);
      for (const auto& [mk, mv] : v.as_object()) {
        LOGLIN_CHECK(mv.is_string(), "[safetensors] {}: __metadata__ value '{}' at byte {} is not a string", name, mk,
                     at);
        metadata[mk] = mv.as_string();
      }
      continue;
    }
    LOGLIN_CHECK(v.is_object(), "[safetensors] {}: entry '{}' at byte {} is not an object", name, key, at);
    const auto& o = v.as_object();
    for (const auto& [field, _] : o) {
      LOGLIN_CHECK(field == "dtype" || field == "shape" || field == "data_offsets",
                   "[safetensors] {}: tensor '{}' at byte {} has an unknown field '{}'", name, key, at, field);
    }
    LOGLIN_CHECK(o.count("dtype") && o.count("shape") && o.count("data_offsets"),
                 "[safetensors] {}: tensor '{}' at byte {} needs dtype, shape and data_offsets", name, key, at);
    Entry e{key, DType::f32, {}, 0, 0};
    const json::Value& dt = o.at("dtype");
    LOGLIN_CHECK(dt.is_string() && dtype_from_safetensors(dt.as_string(), e.dtype),
                 "[safetensors] {}: tensor '{}' at byte {} has dtype {}; supported: F32, F64, BF16, I32, I64", name,
                 key, at, dt.dump());
    const json::Value& shape = o.at("shape");
    LOGLIN_CHECK(shape.is_array(), "[safetensors] {}: tensor '{}' at byte {}: shape is not an array", name, key, at);
    uint64_t numel = 1;
    for (const json::Value& d : shape.as_array()) {
      LOGLIN_CHECK(d.is_integer() && d.as_int() >= 0,
                   "[safetensors] {}: tensor '{}' at byte {}: shape {} holds a non-integer or negative size", name,
                   key, at, shape.dump());
      e.shape.push_back(d.as_int());
      // Overflow here would let a hostile shape pass the size check.
      LOGLIN_CHECK(d.as_int() == 0 || numel <= (uint64_t{1} << 62) / static_cast<uint64_t>(d.as_int()),
                   "[safetensors] {}: tensor '{}' at byte {}: shape {} is too large", name, key, at, shape.dump());
      numel *= static_cast<uint64_t>(d.as_int());
    }
    const json::Value& offs = o.at("data_offsets");
    LOGLIN_CHECK(offs.is_array() && offs.as_array().size() == 2 && offs.as_array()[0].is_integer() &&
                     offs.as_array()[1].is_integer() && offs.as_array()[0].as_int() >= 0 &&
                     offs.as_array()[1].as_int() >= offs.as_array()[0].as_int(),
                 "[safetensors] {}: tensor '{}' at byte {}: data_offsets {} is not [begin, end] with 0 <= begin <= end",
                 name, key, at, offs.dump());
    e.begin = static_cast<uint64_t>(offs.as_array()[0].as_int());
    e.end = static_cast<uint64_t>(offs.as_array()[1].as_int());
    const uint64_t want = numel * dtype_size(e.dtype);
    LOGLIN_CHECK(e.end - e.begin == want,
                 "[safetensors] {}: tensor '{}' at byte {}: shape {} of {} needs {} bytes, data_offsets {} hold {}",
                 name, key, at, shape.dump(), dt.as_string(), want, offs.dump(), e.end - e.begin);
    entries.push_back(std::move(e));
  }

  uint64_t need = 0;
  for (const Entry& e : entries) need = std::max(need, e.end);
  LOGLIN_CHECK(need <= data_size, "[safetensors] {} is truncated: header says {} bytes of data, file has {}", name,
               need, data_size);

  // The tensors must tile the data section exactly, as the reference reader demands.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const Entry* a, const Entry* b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  uint64_t pos = 0;
  const Entry* prev = nullptr;
  for (const Entry* e : by_offset) {
    LOGLIN_CHECK(e->begin >= pos, "[safetensors] {}: tensor '{}' (data bytes {}..{}, file byte {}) overlaps '{}'",
                 name, e->name, e->begin, e->end, data_start + e->begin, prev ? prev->name : "");
    LOGLIN_CHECK(e->begin == pos, "[safetensors] {}: unused data between {} and tensor '{}' at file byte {}", name,
                 prev ? "'" + prev->name + "'" : std::string("the header"), e->name, data_start + pos);
    pos = e->end;
    prev = e;
  }
  LOGLIN_CHECK(pos == data_size, "[safetensors] {}: {} unexpected bytes after the last tensor, at byte {}", name,
               data_size - pos, data_start + pos);
  return entries;
}

// Reads the length prefix and header through `read(offset, n, dst)`.
using ReadFn = std::function<void(uint64_t offset, size_t n, void* dst)>;

SafetensorsFile parse(uint64_t file_size, const std::string& name, const ReadFn& read) {
  LOGLIN_CHECK(file_size >= 8, "[safetensors] {} is truncated: {} bytes, shorter than the 8-byte header length",
               name, file_size);
  unsigned char len[8];
  read(0, 8, len);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  LOGLIN_CHECK(n <= kMaxHeader, "[safetensors] {}: header length {} at byte 0 is implausible (limit {})", name, n,
               kMaxHeader);
  LOGLIN_CHECK(n <= file_size - 8,
               "[safetensors] {} is truncated: header length at byte 0 says {} bytes, file has {} after it", name, n,
               file_size - 8);
  std::string header(n, '\0');
  read(8, n, header.data());

  SafetensorsFile out;
  std::vector<Entry> entries = parse_header(header, file_size, name, out.metadata);
  const uint64_t data_start = 8 + n;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) read(data_start + e.begin, e.end - e.begin, t.raw_data());
    out.tensors.emplace(e.name, std::move(t));
  }
  return out;
}

}  // namespace

const char* safetensors_dtype_name(DType t) {
  for (size_t i = 0; i < std::size(dtype_values); ++i) {
    if (dtype_values[i] == t) return dtype_names[i];
  }
  LOGLIN_FAIL("[safetensors] dtype {} has no safetensors name", dtype_name(t));
}

std::string safetensors_serialize(const TensorMap& tensors, const StringMap& metadata) {
  std::string out;
  write_all(tensors, metadata, [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); });
  return out;
}

SafetensorsFile safetensors_deserialize(const std::string& bytes, const std::string& name) {
  return parse(bytes.size(), name, [&](uint64_t off, size_t n, void* dst) { std::memcpy(dst, bytes.data() + off, n); });
}

void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const StringMap& metadata) {
  io::write_file_atomic(path, [&](const io::ChunkWriter& put) { write_all(tensors, metadata, put); });
}

SafetensorsFile load_safetensors(const std::filesystem::path& path) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  LOGLIN_CHECK(in, "[safetensors] cannot open {}", name);
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  LOGLIN_CHECK(!ec, "[safetensors] cannot stat {}: {}", name, ec.message());
  return parse(size, name, [&](uint64_t off, size_t n, void* dst) {
    in.seekg(static_cast<std::streamoff>(off));
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    LOGLIN_CHECK(in.good(), "[safetensors] {}: read error at byte {} (file changed while reading?)", name, off);
  });
}

}  // namespace loglin

// safetensors: round trips for every dtype and odd shape, the exact bytes of
// a tiny file, and a clear error for each way a file can be damaged.
#include <cstring>
#include <filesystem>
#include <string>

#include "catch.h"
#include "core/rng.h"
#include "test_util.h"
#include "train/checkpoint/safetensors.h"

namespace fs = std::filesystem;
using namespace loglin;
using loglin_test::TempDir;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

std::string raw_bytes(const Tensor& t) {
  Tensor c = t.is_contiguous() ? t : core::contiguous_copy(t);
  return std::string(static_cast<const char*>(c.raw_data()), c.numel() * dtype_size(c.dtype()));
}

// A file from a hand-written header (not padded) and data section.
std::string craft(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

TensorMap every_dtype() {
  Generator gen(7);
  TensorMap m;
  m["f32"] = randn({2, 3}, DType::f32, gen);
  m["f64"] = randn({4}, DType::f64, gen);
  m["bf16"] = randn({3, 2}, DType::bf16, gen);
  m["i32"] = Tensor::from_vector<int32_t>({1, -2, 3, 2147483647, -2147483647 - 1}, {5});
  m["i64"] = Tensor::from_vector<int64_t>({int64_t{1} << 40, -5, 0, 9}, {2, 2});
  m["scalar"] = Tensor::scalar(3.5, DType::f32);
  m["scalar_i64"] = Tensor::scalar(-7, DType::i64);
  m["empty"] = Tensor::empty({0, 3}, DType::f32);
  m["empty_bf16"] = Tensor::empty({4, 0}, DType::bf16);
  return m;
}

void check_same(const TensorMap& a, const TensorMap& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name) == 1);
    const Tensor& u = b.at(name);
    CHECK(u.dtype() == t.dtype());
    CHECK(u.shape() == t.shape());
    CHECK(raw_bytes(u) == raw_bytes(t));
  }
}

}  // namespace

TEST_CASE("safetensors round-trips every dtype, 0-dim and empty tensors", "[train][safetensors]") {
  TempDir dir("st_roundtrip");
  const TensorMap tensors = every_dtype();
  const StringMap meta = {{"format", "pt"}, {"note", "quotes \" and\nnewlines \\ survive"}};
  const fs::path file = dir.path / "all.safetensors";
  save_safetensors(file, tensors, meta);
  SafetensorsFile back = load_safetensors(file);
  check_same(tensors, back.tensors);
  CHECK(back.metadata == meta);
  CHECK(fs::file_size(file) == safetensors_serialize(tensors, meta).size());

  // Nothing but the file itself is left beside it.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) entries += e.path() != file ? 100 : 1;
  CHECK(entries == 1);

  // No metadata, no tensors: still a valid file.
  SafetensorsFile none = safetensors_deserialize(safetensors_serialize({}, {}));
  CHECK(none.tensors.empty());
  CHECK(none.metadata.empty());
}

TEST_CASE("safetensors writes strided tensors as their row-major values", "[train][safetensors]") {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).transpose(0, 1);  // [3, 2], strided
  SafetensorsFile back = safetensors_deserialize(safetensors_serialize({{"t", t}}));
  CHECK(back.tensors.at("t").shape() == Shape{3, 2});
  CHECK(back.tensors.at("t").to_vector<float>() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("safetensors bytes follow the format exactly", "[train][safetensors]") {
  const std::string bytes =
      safetensors_serialize({{"b", Tensor::from_vector<int64_t>({258}, {1})},
                             {"a", Tensor::from_vector<float>({1.0f, -2.0f}, {2})}},
                            {{"k", "v"}});
  // Keys sorted, tensors stored in key order, header padded with spaces so
  // the data starts at a multiple of 8.
  std::string header =
      R"({"__metadata__":{"k":"v"},"a":{"data_offsets":[0,8],"dtype":"F32","shape":[2]},)"
      R"("b":{"data_offsets":[8,16],"dtype":"I64","shape":[1]}})";
  while ((8 + header.size()) % 8 != 0) header += ' ';
  const unsigned char data[16] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0,   // 1.0f, -2.0f
                                  0x02, 0x01, 0, 0, 0, 0, 0, 0};                    // 258
  std::string want(8, '\0');
  for (int i = 0; i < 8; ++i) want[i] = static_cast<char>(static_cast<uint64_t>(header.size()) >> (8 * i));
  want += header;
  want.append(reinterpret_cast<const char*>(data), sizeof data);
  CHECK(bytes == want);
  CHECK(bytes.size() % 8 == 0);
}

TEST_CASE("safetensors rejects damaged headers with file and byte offset", "[train][safetensors]") {
  const std::string f32x2 = std::string("\x00\x00\x80\x3f\x00\x00\x00\xc0", 8);
  auto load = [](const std::string& bytes) { return safetensors_deserialize(bytes, "x.safetensors"); };

  SECTION("a hand-made valid file loads") {
    SafetensorsFile f = load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2));
    CHECK(f.tensors.at("a").to_vector<float>() == std::vector<float>{1.0f, -2.0f});
  }
  SECTION("shorter than the length prefix") {
    CHECK_THROWS_AS(load("\x01\x02"), Error);
    CHECK(contains(error_message([&] { load("\x01\x02"); }), "x.safetensors is truncated"));
  }
  SECTION("header length past the end") {
    std::string bytes = craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", f32x2);
    bytes[0] = static_cast<char>(0xff);
    bytes[1] = static_cast<char>(0xff);
    const std::string msg = error_message([&] { load(bytes); });
    CHECK(contains(msg, "x.safetensors"));
    CHECK(contains(msg, "header length at byte 0"));
    bytes[7] = 0x7f;  // absurdly large
    CHECK(contains(error_message([&] { load(bytes); }), "implausible"));
  }
  SECTION("invalid JSON names the byte in the file") {
    // {"a":} : the value is missing at header byte 5, file byte 13.
    const std::string msg = error_message([&] { load(craft(R"({"a":})", "")); });
    CHECK(contains(msg, "x.safetensors"));
    CHECK(contains(msg, "invalid JSON at byte 13"));
    CHECK_THROWS_AS(load(craft("[1,2]", "")), Error);
    CHECK_THROWS_AS(load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", f32x2)), Error);
  }
  SECTION("unknown dtype") {
    const std::string msg =
        error_message([&] { load(craft(R"({"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", f32x2)); });
    CHECK(contains(msg, "dtype \"F16\""));
    CHECK(contains(msg, "'a' at byte 9"));
  }
  SECTION("shape and offsets disagree") {
    const std::string msg =
        error_message([&] { load(craft(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", f32x2)); });
    CHECK(contains(msg, "needs 12 bytes"));
    CHECK_THROWS_AS(load(craft(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", f32x2)), Error);
    CHECK_THROWS_AS(load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", f32x2)), Error);
    CHECK_THROWS_AS(load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", f32x2)), Error);
    CHECK_THROWS_AS(load(craft(R"({"a":{"dtype":"F32","shape":[2]}})", f32x2)), Error);
    CHECK_THROWS_AS(load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", f32x2)), Error);
  }
  SECTION("offsets out of range") {
    const std::string msg =
        error_message([&] { load(craft(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", f32x2)); });
    CHECK(contains(msg, "x.safetensors is truncated: header says 16 bytes of data, file has 8"));
  }
  SECTION("overlapping, gapped and trailing data") {
    const std::string data12(12, '\0');
    CHECK(contains(error_message([&] {
                     load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                data12));
                   }),
                   "overlaps 'a'"));
    CHECK(contains(error_message([&] {
                     load(craft(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                data12));
                   }),
                   "unused data"));
    CHECK(contains(
        error_message([&] { load(craft(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data12)); }),
        "4 unexpected bytes after the last tensor"));
  }
  SECTION("metadata must map strings to strings") {
    CHECK_THROWS_AS(load(craft(R"({"__metadata__":{"n":1}})", "")), Error);
    CHECK_THROWS_AS(load(craft(R"({"__metadata__":[]})", "")), Error);
  }
}

TEST_CASE("safetensors reports a truncated file with both sizes", "[train][safetensors]") {
  TempDir dir("st_trunc");
  const fs::path file = dir.path / "model.safetensors";
  Tensor w = Tensor::zeros({10, 10});  // 400 bytes of data
  save_safetensors(file, {{"w", w}});
  const uint64_t full = fs::file_size(file);
  fs::resize_file(file, full - 100);
  CHECK_THROWS_AS(load_safetensors(file), Error);
  const std::string msg = error_message([&] { load_safetensors(file); });
  CHECK(contains(msg, file.string() + " is truncated: header says 400 bytes of data, file has 300"));
  CHECK_THROWS_AS(load_safetensors(dir.path / "missing.safetensors"), Error);
}

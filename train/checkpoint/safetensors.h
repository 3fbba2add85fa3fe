// safetensors files (the format Hugging Face tools read):
//
//   [8 bytes] N, the header length, unsigned little-endian
//   [N bytes] JSON: {"__metadata__": {str: str}, "<name>": {"dtype": "F32",
//             "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//             padded with spaces so the data starts 8-byte aligned
//   [rest]    the tensors' bytes, little-endian, row-major; offsets are
//             relative to the start of this section
//
// Dtypes: F32, F64, BF16, I32, I64. We write keys sorted and tensors in that
// order, back to back. Reading checks everything a damaged file can break
// (header length, JSON, dtypes, shapes, offsets, size) and names the file
// and byte offset of the first problem.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/tensor.h"

namespace loglin {

using TensorMap = std::map<std::string, Tensor>;
using StringMap = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;  // CPU, contiguous
  StringMap metadata;
};

// The complete file as bytes. Tensors may live on any device or be strided.
std::string safetensors_serialize(const TensorMap& tensors, const StringMap& metadata = {});
// Parses bytes; `name` is used in error messages (usually the file path).
SafetensorsFile safetensors_deserialize(const std::string& bytes, const std::string& name = "<memory>");

// Written atomically (temporary file + rename).
void save_safetensors(const std::filesystem::path& path, const TensorMap& tensors, const StringMap& metadata = {});
SafetensorsFile load_safetensors(const std::filesystem::path& path);

// "F32" <-> DType::f32 and so on; an unknown string is an error.
const char* safetensors_dtype_name(DType t);

}  // namespace loglin

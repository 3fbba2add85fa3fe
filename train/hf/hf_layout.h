// The table that moves tensors between loglin's parameter names and a public
// implementation's (the README's "Hugging Face format" lists them per architecture).
//
// Both sides are seen as matrices of rows: a tensor of `width` elements per
// row has numel / width rows. One HF tensor is built from row ranges of one
// or more loglin tensors (a fused projection split into q, k and v; a
// per-head block padded to more levels), and rows no range covers hold
// `fill`. The same table runs both ways:
//
//   to_hf:   loglin state dict -> HF tensors (every loglin row used once)
//   from_hf: HF tensors        -> loglin state dict, checking names, shapes,
//            dtypes, the fill rows and copies of tied weights, and naming
//            the first tensor that is missing, extra or different.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "train/checkpoint/safetensors.h"

namespace loglin::hf {

// rows [loglin_row, loglin_row + rows) of loglin tensor `loglin` are rows
// [hf_row, hf_row + rows) of the HF tensor.
struct RowCopy {
  std::string loglin;
  int64_t loglin_row = 0;
  int64_t hf_row = 0;
  int64_t rows = 0;
};

struct HfTensor {
  std::string name;  // the public implementation's name
  Shape shape;       // its shape there
  int64_t width = 1;  // elements per row, on both sides
  std::vector<RowCopy> copies;
  float fill = 0;  // the value of rows no copy covers
  // A second copy of loglin rows that another entry carries too (a tied
  // lm_head.weight): written on export; on import it may be absent, and
  // when present it must equal its source bit for bit.
  bool duplicate = false;
};

struct Layout {
  std::vector<HfTensor> tensors;
  // HF names that may appear and carry nothing loglin needs (buffers such as
  // rotary tables), matched by suffix.
  std::vector<std::string> ignored_suffixes;
};

// loglin state dict (any device, f32) -> HF tensors, CPU f32 contiguous.
TensorMap to_hf(const Layout& layout, const TensorMap& loglin);

// HF tensors (dtype `dtype`, F32 or BF16) -> loglin tensors of the shapes
// in `want` (a model's state dict: names and shapes), f32. `where` names
// the file in errors.
TensorMap from_hf(const Layout& layout, const TensorMap& hf, const TensorMap& want, DType dtype,
                  const std::string& where);

// The identity layout: every tensor of `loglin` under its own name (the
// `--layout loglin` export).
Layout identity_layout(const TensorMap& loglin);

}  // namespace loglin::hf

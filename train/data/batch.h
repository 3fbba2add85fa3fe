// What every dataset hands the trainer, and how a dataset's place in its
// stream is saved for resuming.
#pragma once
#include <cstdint>
#include <string>

#include "core/rng.h"
#include "core/tensor.h"

namespace loglin {

inline constexpr int64_t kIgnoreIndex = -100;  // targets to skip in the loss and metrics

struct Batch {
  Tensor inputs;   // [B, T] i64 token ids
  Tensor targets;  // [B, T] i64: the next token, or kIgnoreIndex
  // Packed documents (data.pack): i64 [N + 1] on the cpu, where each of the N
  // segments starts on the flattened B*T axis (every row start among them),
  // for LanguageModel::forward. Undefined when the rows are plain sequences.
  Tensor cu_seqlens;
};

// A dataset draws its training batches only from the Generator passed in,
// so its position is that generator's state plus how many batches were
// drawn. The trainer saves to_string() in the checkpoint and, on resume,
// restores both the generator and the dataset's counter from it.
struct DataPosition {
  Generator::State rng{};
  int64_t batches = 0;  // training batches drawn so far

  std::string to_string() const;
  static DataPosition from_string(const std::string& text);
};

}  // namespace loglin

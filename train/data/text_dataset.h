// Language-model batches from a token stream. The stream splits once: the
// first (1 - val_fraction) of the tokens train, the rest validate, so no
// validation text leaks into training windows.
//
// Training batches are random contiguous windows of seq_len + 1 tokens
// (inputs = the first seq_len, targets = the last seq_len), drawn only from
// the Generator passed in. Validation walks its split in order with windows
// that overlap by one token, so each validation token after the first is a
// target exactly once (a tail shorter than seq_len is left out).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "train/data/batch.h"

namespace loglin {

struct TextDatasetOptions {
  int64_t seq_len = 256;
  int64_t batch_size = 8;
  double val_fraction = 0.05;  // in [0, 1); 0 = no validation split
};

class TextDataset {
 public:
  TextDataset(std::shared_ptr<const std::vector<int32_t>> tokens, const TextDatasetOptions& opts);

  Batch next_train_batch(Generator& gen);  // [B, T] each

  int64_t num_val_windows() const { return val_windows_; }
  int64_t num_val_batches() const;
  Batch val_batch(int64_t i) const;  // the last batch may hold fewer than B rows

  // Resuming: save position(gen) with the checkpoint; restore() puts both
  // the generator and this dataset back where they were.
  DataPosition position(const Generator& gen) const { return {gen.state(), batches_}; }
  void restore(const DataPosition& pos, Generator& gen);
  int64_t batches_drawn() const { return batches_; }

  int64_t train_tokens() const { return n_train_; }
  int64_t val_tokens() const { return static_cast<int64_t>(tokens_->size()) - n_train_; }
  const TextDatasetOptions& options() const { return opts_; }

 private:
  Batch windows(const std::vector<int64_t>& starts) const;

  std::shared_ptr<const std::vector<int32_t>> tokens_;
  TextDatasetOptions opts_;
  int64_t n_train_ = 0;
  int64_t val_windows_ = 0;
  int64_t batches_ = 0;
};

}  // namespace loglin

// Language-model batches from a token stream. The stream splits once: the
// first (1 - val_fraction) of the tokens train, the rest validate, so no
// validation text leaks into training windows.
//
// Training batches are random contiguous windows of seq_len + 1 tokens
// (inputs = the first seq_len, targets = the last seq_len), drawn only from
// the Generator passed in. Validation walks its split in order with windows
// that overlap by one token, so each validation token after the first is a
// target exactly once (a tail shorter than seq_len is left out).
//
// Packed (options pack, with the documents' token spans): the rows hold whole
// documents instead (packing.h), and each batch carries cu_seqlens. A
// training row starts at a random piece (uniform over the pieces, from the
// Generator passed in) and takes the pieces that follow it in corpus order,
// wrapping at the end of the split. Validation lays the split's pieces into
// rows in order; a tail shorter than seq_len is left out. A document that
// straddles the split is cut there: each side keeps its own part.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "train/data/batch.h"
#include "train/data/packing.h"

namespace loglin {

struct TextDatasetOptions {
  int64_t seq_len = 256;
  int64_t batch_size = 8;
  double val_fraction = 0.05;  // in [0, 1); 0 = no validation split
  bool pack = false;           // rows of whole documents (needs the documents)
};

class TextDataset {
 public:
  // documents: the token spans of the documents, in order (documents.h);
  // used when opts.pack is set, where they must not be empty.
  TextDataset(std::shared_ptr<const std::vector<int32_t>> tokens, const TextDatasetOptions& opts,
              const std::vector<Span>& documents = {});

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
  // Packed: the packers of the two splits (null when not packed).
  const DocumentPacker* train_packer() const { return train_pack_ ? &*train_pack_ : nullptr; }
  const DocumentPacker* val_packer() const { return val_pack_ ? &*val_pack_ : nullptr; }

 private:
  Batch windows(const std::vector<int64_t>& starts) const;
  // Packed rows starting at these pair offsets of a packer's stream.
  Batch packed_rows(const DocumentPacker& packer, const std::vector<int64_t>& starts) const;

  std::shared_ptr<const std::vector<int32_t>> tokens_;
  TextDatasetOptions opts_;
  int64_t n_train_ = 0;
  int64_t val_windows_ = 0;
  int64_t batches_ = 0;
  std::optional<DocumentPacker> train_pack_, val_pack_;
};

}  // namespace loglin

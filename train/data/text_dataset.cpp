#include "train/data/text_dataset.h"

#include <algorithm>

namespace loglin {

TextDataset::TextDataset(std::shared_ptr<const std::vector<int32_t>> tokens, const TextDatasetOptions& opts,
                         const std::vector<Span>& documents)
    : tokens_(std::move(tokens)), opts_(opts) {
  LOGLIN_CHECK(tokens_, "[data] no tokens given");
  LOGLIN_CHECK(opts.seq_len >= 1, "[data] seq_len {} must be at least 1", opts.seq_len);
  LOGLIN_CHECK(opts.batch_size >= 1, "[data] batch_size {} must be at least 1", opts.batch_size);
  LOGLIN_CHECK(opts.val_fraction >= 0 && opts.val_fraction < 1, "[data] val_fraction {} must lie in [0, 1)",
               opts.val_fraction);
  const int64_t n = static_cast<int64_t>(tokens_->size());
  const int64_t n_val = static_cast<int64_t>(static_cast<double>(n) * opts.val_fraction);
  n_train_ = n - n_val;
  const int64_t window = opts.seq_len + 1;
  LOGLIN_CHECK(n_train_ >= window,
               "[data] the training split has {} tokens, fewer than seq_len + 1 = {}: use more text or a smaller "
               "seq_len",
               n_train_, window);
  if (opts.val_fraction > 0) {
    LOGLIN_CHECK(n_val >= window,
                 "[data] the validation split ({} of {} tokens = {}) is shorter than seq_len + 1 = {}: raise "
                 "val_fraction, lower seq_len or use more text",
                 opts.val_fraction, n, n_val, window);
    val_windows_ = (n_val - 1) / opts.seq_len;
  }
  if (!opts.pack) return;
  LOGLIN_CHECK(!documents.empty(), "[data] packing needs the documents' token spans, and none were given");
  train_pack_.emplace(tokens_, documents, 0, n_train_, opts.seq_len);
  LOGLIN_CHECK(train_pack_->num_pieces() > 0,
               "[data] the training split holds no document of two or more tokens, so there is nothing to pack");
  if (opts.val_fraction > 0) {
    val_pack_.emplace(tokens_, documents, n_train_, n, opts.seq_len);
    val_windows_ = val_pack_->total_pairs() / opts.seq_len;
    LOGLIN_CHECK(val_windows_ >= 1,
                 "[data] the validation split's documents give {} targets, fewer than one row of seq_len {}: raise "
                 "val_fraction, lower seq_len or use more text",
                 val_pack_->total_pairs(), opts.seq_len);
  }
}

Batch TextDataset::packed_rows(const DocumentPacker& packer, const std::vector<int64_t>& starts) const {
  const int64_t B = static_cast<int64_t>(starts.size()), T = opts_.seq_len;
  std::vector<int64_t> in(B * T), tgt(B * T), segments;
  for (int64_t b = 0; b < B; ++b) packer.fill_row(starts[b], in.data() + b * T, tgt.data() + b * T, segments);
  std::vector<int64_t> cu{0};  // on the flattened B*T axis: every row start is a segment start
  for (int64_t len : segments) cu.push_back(cu.back() + len);
  return {Tensor::from_vector(in, {B, T}), Tensor::from_vector(tgt, {B, T}),
          Tensor::from_vector(cu, {static_cast<int64_t>(cu.size())})};
}

Batch TextDataset::windows(const std::vector<int64_t>& starts) const {
  const int64_t B = static_cast<int64_t>(starts.size()), T = opts_.seq_len;
  std::vector<int64_t> in(B * T), tgt(B * T);
  const int32_t* tok = tokens_->data();
  for (int64_t b = 0; b < B; ++b) {
    const int32_t* w = tok + starts[b];
    for (int64_t t = 0; t < T; ++t) {
      in[b * T + t] = w[t];
      tgt[b * T + t] = w[t + 1];
    }
  }
  return {Tensor::from_vector(in, {B, T}), Tensor::from_vector(tgt, {B, T})};
}

Batch TextDataset::next_train_batch(Generator& gen) {
  // Any start whose window ends inside the training split.
  const int64_t last_start = n_train_ - (opts_.seq_len + 1);
  std::vector<int64_t> starts(opts_.batch_size);
  ++batches_;
  if (train_pack_) {  // rows start at a random piece
    for (auto& s : starts) s = train_pack_->piece_start(gen.randint(0, train_pack_->num_pieces()));
    return packed_rows(*train_pack_, starts);
  }
  for (auto& s : starts) s = gen.randint(0, last_start + 1);
  return windows(starts);
}

int64_t TextDataset::num_val_batches() const { return (val_windows_ + opts_.batch_size - 1) / opts_.batch_size; }

Batch TextDataset::val_batch(int64_t i) const {
  LOGLIN_CHECK(i >= 0 && i < num_val_batches(), "[data] validation batch {} out of range [0, {})", i,
               num_val_batches());
  const int64_t first = i * opts_.batch_size;
  const int64_t count = std::min(opts_.batch_size, val_windows_ - first);
  std::vector<int64_t> starts(count);
  if (val_pack_) {  // row r holds pairs [r T, (r + 1) T) of the validation stream
    for (int64_t k = 0; k < count; ++k) starts[k] = (first + k) * opts_.seq_len;
    return packed_rows(*val_pack_, starts);
  }
  for (int64_t k = 0; k < count; ++k) starts[k] = n_train_ + (first + k) * opts_.seq_len;
  return windows(starts);
}

void TextDataset::restore(const DataPosition& pos, Generator& gen) {
  LOGLIN_CHECK(pos.batches >= 0, "[data] data position with {} batches", pos.batches);
  gen.set_state(pos.rng);
  batches_ = pos.batches;
}

}  // namespace loglin

// The data side of a training run, built from the config: the tokenizer and
// the dataset (Brown, a text source, or synthetic MQAR) behind one interface.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "train/config/config.h"
#include "train/data/batch.h"
#include "train/data/mqar.h"
#include "train/data/text_dataset.h"
#include "train/tokenizer/tokenizer.h"

namespace loglin {

class TrainData {
 public:
  // Tokenizes (or reuses the token cache) and splits. `log` receives one-line
  // progress messages ("tokenizing ...").
  TrainData(const DataConfig& cfg, const std::function<void(const std::string&)>& log);

  Batch next_train_batch(Generator& gen);
  int64_t num_val_batches() const;
  Batch val_batch(int64_t i) const;
  DataPosition position(const Generator& gen) const;
  void restore(const DataPosition& pos, Generator& gen);

  int64_t vocab_size() const { return vocab_size_; }
  bool is_mqar() const { return mqar_ != nullptr; }
  // MQAR: the test settings scored one by one ("64x4", "256x64"; empty for
  // text), and which of them validation batch i holds.
  const std::vector<std::string>& accuracy_groups() const { return accuracy_groups_; }
  int64_t val_batch_group(int64_t i) const;
  // The longest sequence a batch can hold (MQAR: of the training and test settings).
  int64_t longest_seq_len() const { return longest_seq_len_; }
  // Tokenizer (null for MQAR, which has no text).
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // UTF-8 bytes of each token id, for bits per byte (empty for MQAR).
  const std::vector<int32_t>& token_bytes() const { return token_bytes_; }
  std::string describe() const;  // "brown: 1.16M train / 61k val tokens, byte tokenizer"

 private:
  std::unique_ptr<Tokenizer> tokenizer_;
  std::unique_ptr<TextDataset> text_;
  std::unique_ptr<MqarDataset> mqar_;
  std::vector<int32_t> token_bytes_;
  std::vector<std::string> accuracy_groups_;
  int64_t vocab_size_ = 0;
  int64_t longest_seq_len_ = 0;
  std::string description_;
};

// Where the Brown corpus text lives under a cache dir, fetching it with
// scripts/fetch_brown.sh on first use. A clear error when that fails.
std::string ensure_brown_corpus(const std::string& cache_dir, const std::function<void(const std::string&)>& log);

}  // namespace loglin

// Multi-query associative recall (MQAR), the synthetic task of the Zoology
// and Based papers: can a model look up a value by its key in context?
//
// One example, for seq_len T, P pairs and Q queries, is T + 1 tokens:
//
//   k1 v1 k2 v2 ... kP vP | 0 0 kq vq 0 kr vr 0 ...
//
// Keys come from [1, V/2), values from [V/2, V) (disjoint halves; keys are
// distinct within an example), 0 fills the gaps. The Q queries are distinct
// keys of the example, each followed by its value, at random non-overlapping
// places after the pairs. inputs = tokens[0..T), and targets hold the value
// at each query key's position (the next token) and kIgnoreIndex elsewhere.
#pragma once
#include <cstdint>
#include <vector>

#include "train/data/batch.h"

namespace loglin {

struct MqarOptions {
  int64_t num_pairs = 8;
  int64_t vocab_size = 64;
  int64_t seq_len = 64;
  int64_t num_queries = 0;  // 0 = as many as pairs
  int64_t batch_size = 8;
  int64_t train_examples = 20000;  // a fixed training set; 0 = fresh examples for every batch
  int64_t val_examples = 1000;
  uint64_t seed = 0;               // draws the fixed training set
  uint64_t val_seed = 0x6d716172;  // draws the validation set; kept apart from `seed`
};

struct Accuracy {
  int64_t correct = 0;
  int64_t total = 0;  // positions whose target is not kIgnoreIndex
  double value() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
  Accuracy& operator+=(const Accuracy& o) {
    correct += o.correct;
    total += o.total;
    return *this;
  }
};

// Counts the positions where the prediction equals a non-ignored target.
// `predictions` is either token ids shaped like targets, or logits with one
// more (last) dimension, which are reduced by argmax. Any device and dtype.
Accuracy token_accuracy(const Tensor& predictions, const Tensor& targets);

class MqarDataset {
 public:
  explicit MqarDataset(MqarOptions opts);  // validates the options

  Batch next_train_batch(Generator& gen);
  int64_t num_val_batches() const;
  Batch val_batch(int64_t i) const;  // the last batch may hold fewer than B rows

  DataPosition position(const Generator& gen) const { return {gen.state(), batches_}; }
  void restore(const DataPosition& pos, Generator& gen);
  int64_t batches_drawn() const { return batches_; }

  const MqarOptions& options() const { return opts_; }  // num_queries resolved
  static Accuracy accuracy(const Tensor& predictions, const Tensor& targets) {
    return token_accuracy(predictions, targets);
  }

  // Writes one example (seq_len inputs and seq_len targets) from gen.
  static void generate(const MqarOptions& opts, Generator& gen, int64_t* inputs, int64_t* targets);

 private:
  struct Examples {
    std::vector<int32_t> inputs, targets;  // [n, T] each
    int64_t count = 0;
  };
  Examples make_examples(int64_t n, uint64_t seed) const;
  Batch gather(const Examples& ex, const std::vector<int64_t>& rows) const;

  MqarOptions opts_;
  Examples train_, val_;
  int64_t batches_ = 0;
};

}  // namespace loglin

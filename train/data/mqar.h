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
//
// Zoology style, the training set is a mixture of settings (seq_len, pairs,
// examples) in one pool, its rows drawn in proportion to the examples; a
// batch that mixes lengths is padded at the end to its longest row, with
// input 0 and target kIgnoreIndex (causal models never see the padding from
// a real position, and it is never scored). Validation is a list of settings,
// each in batches of its own length, scored on its own (val_accuracy/64x4).
// Every example comes from loglin's Generator alone, so a seed gives the same
// data on every machine and library.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "train/data/batch.h"

namespace loglin {

// One setting of a mixture or a test list.
struct MqarTask {
  int64_t seq_len = 64;
  int64_t num_pairs = 8;
  int64_t examples = 1000;
  std::string name() const;  // "256x64": seq_len x num_pairs, the metric's suffix
};

struct MqarOptions {
  int64_t num_pairs = 8;
  int64_t vocab_size = 64;
  int64_t seq_len = 64;
  int64_t num_queries = 0;  // 0 = as many as pairs (of each task)
  int64_t batch_size = 8;
  int64_t train_examples = 20000;  // a fixed training set; 0 = fresh examples for every batch
  int64_t val_examples = 1000;
  uint64_t seed = 0;               // draws the fixed training set
  uint64_t val_seed = 0x6d716172;  // draws the validation set; kept apart from `seed`
  // Empty: the one task {seq_len, num_pairs, train_examples}. Otherwise it
  // replaces those three (each task needs examples >= 1).
  std::vector<MqarTask> train_mix;
  // Empty: val_examples of each training task (seq_len, num_pairs).
  std::vector<MqarTask> test_configs;
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

// Accuracy per test setting and their mean, as evaluation reports them:
// settings without counted targets (not reached by a truncated evaluation)
// are left out, and the mean weighs every setting alike, however many
// queries it holds (0 when none was counted).
struct MqarScores {
  std::vector<std::pair<std::string, double>> by_task;  // (name, accuracy)
  double mean = 0;
};
MqarScores mqar_scores(const std::vector<std::string>& names, const std::vector<Accuracy>& per_task);

class MqarDataset {
 public:
  explicit MqarDataset(MqarOptions opts);  // validates the options

  // [B, T] with T the longest row's seq_len; shorter rows padded (see above).
  Batch next_train_batch(Generator& gen);
  // Validation batches take the test tasks in turn (task 0's first batch,
  // task 1's first, ..., then the second batches), so the first N batches
  // cover every task alike. A batch holds one task; its last may be short.
  int64_t num_val_batches() const;
  Batch val_batch(int64_t i) const;
  int64_t val_batch_task(int64_t i) const;  // index into test_tasks()

  DataPosition position(const Generator& gen) const { return {gen.state(), batches_}; }
  void restore(const DataPosition& pos, Generator& gen);
  int64_t batches_drawn() const { return batches_; }

  // With one training task, num_queries resolved; with a mixture, seq_len,
  // num_pairs and train_examples are its longest, most and total.
  const MqarOptions& options() const { return opts_; }
  const std::vector<MqarTask>& train_tasks() const { return opts_.train_mix; }   // resolved, never empty
  const std::vector<MqarTask>& test_tasks() const { return opts_.test_configs; }  // resolved
  static Accuracy accuracy(const Tensor& predictions, const Tensor& targets) {
    return token_accuracy(predictions, targets);
  }

  // Writes one example (seq_len inputs and seq_len targets) from gen.
  static void generate(const MqarOptions& opts, Generator& gen, int64_t* inputs, int64_t* targets);

 private:
  struct Examples {
    int64_t seq_len = 0;
    std::vector<int32_t> inputs, targets;  // [n, seq_len] each
    int64_t count = 0;
  };
  MqarOptions task_options(const MqarTask& t) const;  // opts_ for one task's length and pairs
  Examples make_examples(const MqarTask& t, uint64_t seed) const;
  // Rows (task, row within it) into one batch padded to its longest row.
  Batch gather(const std::vector<Examples>& sets, const std::vector<std::pair<size_t, int64_t>>& rows) const;

  MqarOptions opts_;
  int64_t queries_ = 0;                // num_queries as given: 0 = as many as each task's pairs
  std::vector<Examples> train_, val_;  // one per task
  int64_t train_count_ = 0;            // rows in all training tasks
  std::vector<std::pair<size_t, int64_t>> val_order_;  // batch i -> (test task, its batch)
  int64_t batches_ = 0;
};

}  // namespace loglin

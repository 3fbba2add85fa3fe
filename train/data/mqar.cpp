#include "train/data/mqar.h"

#include <fmt/format.h>

#include <algorithm>

namespace loglin {
namespace {

// Checks that one example of seq_len / num_pairs / num_queries can be made.
// what: "" for the single setting, "train_mix[2] (256x64): " for a task.
void check_shape(const std::string& what, int64_t vocab_size, int64_t seq_len, int64_t num_pairs, int64_t num_queries) {
  LOGLIN_CHECK(num_pairs >= 1, "[mqar] {}num_pairs {} must be at least 1", what, num_pairs);
  LOGLIN_CHECK(num_queries >= 1 && num_queries <= num_pairs,
               "[mqar] {}num_queries {} must lie in [1, num_pairs = {}] (each query asks a distinct key)", what,
               num_queries, num_pairs);
  const int64_t keys = vocab_size / 2 - 1;  // [1, V/2)
  LOGLIN_CHECK(vocab_size >= 4 && keys >= num_pairs,
               "[mqar] {}vocab_size {} gives {} distinct keys, fewer than num_pairs = {}: vocab_size must be at least "
               "2 * (num_pairs + 1) = {}",
               what, vocab_size, std::max<int64_t>(keys, 0), num_pairs, 2 * (num_pairs + 1));
  const int64_t need = 2 * num_pairs + 2 * num_queries;
  LOGLIN_CHECK(seq_len >= need,
               "[mqar] {}seq_len {} is too short for {} pairs and {} queries: it needs at least 2*num_pairs + "
               "2*num_queries = {}",
               what, seq_len, num_pairs, num_queries, need);
}

// Resolves the task lists (and, for one task, num_queries) and checks them.
MqarOptions validated(MqarOptions o) {
  const bool single = o.train_mix.empty();
  const int64_t queries = o.num_queries;  // 0 = as many as each task's pairs
  LOGLIN_CHECK(queries >= 0, "[mqar] num_queries {} is negative", queries);
  if (single) {
    if (o.num_queries == 0) o.num_queries = o.num_pairs;
    check_shape("", o.vocab_size, o.seq_len, o.num_pairs, o.num_queries);
    LOGLIN_CHECK(o.train_examples >= 0, "[mqar] train_examples {} is negative", o.train_examples);
    o.train_mix = {MqarTask{o.seq_len, o.num_pairs, o.train_examples}};
  }
  LOGLIN_CHECK(o.batch_size >= 1, "[mqar] batch_size {} must be at least 1", o.batch_size);
  LOGLIN_CHECK(o.val_examples >= 0, "[mqar] val_examples {} is negative", o.val_examples);
  auto check_list = [&](const char* list, const std::vector<MqarTask>& tasks, bool train) {
    for (size_t i = 0; i < tasks.size(); ++i) {
      const MqarTask& t = tasks[i];
      const std::string what = fmt::format("{}[{}] ({}): ", list, i, t.name());
      check_shape(what, o.vocab_size, t.seq_len, t.num_pairs, queries == 0 ? t.num_pairs : queries);
      // A one-task training set may be 0 = fresh examples for every batch; a mixture draws from fixed pools.
      LOGLIN_CHECK(train && single ? t.examples >= 0 : t.examples >= (train ? 1 : 0),
                   "[mqar] {}examples {} must be at least {}", what, t.examples, train ? 1 : 0);
      for (size_t j = 0; j < i; ++j)
        LOGLIN_CHECK(tasks[j].name() != t.name(), "[mqar] {}repeats {}[{}]; list each seq_len x num_pairs once", what,
                     list, j);
    }
  };
  check_list("train_mix", o.train_mix, true);
  if (!single) {
    o.seq_len = o.num_pairs = o.train_examples = 0;
    for (const auto& t : o.train_mix) {
      o.seq_len = std::max(o.seq_len, t.seq_len);
      o.num_pairs = std::max(o.num_pairs, t.num_pairs);
      o.train_examples += t.examples;
    }
  }
  if (o.test_configs.empty())
    for (const auto& t : o.train_mix) o.test_configs.push_back(MqarTask{t.seq_len, t.num_pairs, o.val_examples});
  check_list("test_configs", o.test_configs, false);
  return o;
}

// The seed of task i's examples: task 0 keeps `seed`, so a one-task dataset
// draws exactly the examples of the single setting; task i > 0 takes the i-th
// draw of a generator keyed by it.
uint64_t task_seed(uint64_t seed, size_t i) {
  if (i == 0) return seed;
  Generator g(seed ^ 0x6d7161727461736bull);
  uint64_t s = 0;
  for (size_t k = 0; k < i; ++k) s = g.next_u64();
  return s;
}

// k distinct values from [0, n) in random order (partial Fisher-Yates).
std::vector<int64_t> sample_distinct(Generator& gen, int64_t n, int64_t k) {
  std::vector<int64_t> pool(n);
  for (int64_t i = 0; i < n; ++i) pool[i] = i;
  for (int64_t i = 0; i < k; ++i) std::swap(pool[i], pool[gen.randint(i, n)]);
  pool.resize(k);
  return pool;
}

}  // namespace

void MqarDataset::generate(const MqarOptions& o, Generator& gen, int64_t* inputs, int64_t* targets) {
  const int64_t P = o.num_pairs, Q = o.num_queries, T = o.seq_len, half = o.vocab_size / 2;
  std::vector<int64_t> x(T + 1, 0);
  std::vector<int64_t> keys = sample_distinct(gen, half - 1, P);
  std::vector<int64_t> values(P);
  for (int64_t i = 0; i < P; ++i) {
    keys[i] += 1;
    values[i] = gen.randint(half, o.vocab_size);
    x[2 * i] = keys[i];
    x[2 * i + 1] = values[i];
  }
  std::fill(targets, targets + T, kIgnoreIndex);
  // The query region is cut into two-token slots; each query takes one.
  const int64_t slots = (T + 1 - 2 * P) / 2;
  const std::vector<int64_t> asked = sample_distinct(gen, P, Q);
  const std::vector<int64_t> where = sample_distinct(gen, slots, Q);
  for (int64_t q = 0; q < Q; ++q) {
    const int64_t pos = 2 * P + 2 * where[q];
    x[pos] = keys[asked[q]];
    x[pos + 1] = values[asked[q]];
    targets[pos] = values[asked[q]];
  }
  std::copy(x.begin(), x.begin() + T, inputs);
}

std::string MqarTask::name() const { return fmt::format("{}x{}", seq_len, num_pairs); }

MqarDataset::MqarDataset(MqarOptions opts) : opts_(validated(opts)), queries_(opts.num_queries) {
  for (size_t i = 0; i < opts_.train_mix.size(); ++i) {
    train_.push_back(make_examples(opts_.train_mix[i], task_seed(opts_.seed, i)));
    train_count_ += train_.back().count;
  }
  int64_t rounds = 0;
  std::vector<int64_t> batches;
  for (size_t j = 0; j < opts_.test_configs.size(); ++j) {
    val_.push_back(make_examples(opts_.test_configs[j], task_seed(opts_.val_seed, j)));
    batches.push_back((val_.back().count + opts_.batch_size - 1) / opts_.batch_size);
    rounds = std::max(rounds, batches.back());
  }
  for (int64_t r = 0; r < rounds; ++r)
    for (size_t j = 0; j < batches.size(); ++j)
      if (r < batches[j]) val_order_.emplace_back(j, r);
}

MqarOptions MqarDataset::task_options(const MqarTask& t) const {
  MqarOptions o = opts_;
  o.seq_len = t.seq_len;
  o.num_pairs = t.num_pairs;
  o.num_queries = queries_ == 0 ? t.num_pairs : queries_;
  return o;
}

MqarDataset::Examples MqarDataset::make_examples(const MqarTask& t, uint64_t seed) const {
  const MqarOptions o = task_options(t);
  const int64_t T = t.seq_len, n = t.examples;
  Examples ex;
  ex.seq_len = T;
  ex.count = n;
  ex.inputs.resize(n * T);
  ex.targets.resize(n * T);
  Generator gen(seed);
  std::vector<int64_t> in(T), tgt(T);
  for (int64_t i = 0; i < n; ++i) {
    generate(o, gen, in.data(), tgt.data());
    std::copy(in.begin(), in.end(), ex.inputs.begin() + i * T);
    std::copy(tgt.begin(), tgt.end(), ex.targets.begin() + i * T);
  }
  return ex;
}

Batch MqarDataset::gather(const std::vector<Examples>& sets,
                          const std::vector<std::pair<size_t, int64_t>>& rows) const {
  const int64_t B = static_cast<int64_t>(rows.size());
  int64_t T = 0;
  for (const auto& [task, row] : rows) T = std::max(T, sets[task].seq_len);
  // Padding: input 0 (the filler token), target ignored.
  std::vector<int64_t> in(B * T, 0), tgt(B * T, kIgnoreIndex);
  for (int64_t b = 0; b < B; ++b) {
    const Examples& ex = sets[rows[b].first];
    const int64_t n = ex.seq_len, r = rows[b].second;
    std::copy_n(ex.inputs.begin() + r * n, n, in.begin() + b * T);
    std::copy_n(ex.targets.begin() + r * n, n, tgt.begin() + b * T);
  }
  return {Tensor::from_vector(in, {B, T}), Tensor::from_vector(tgt, {B, T})};
}

Batch MqarDataset::next_train_batch(Generator& gen) {
  const int64_t B = opts_.batch_size;
  ++batches_;
  if (train_count_ > 0) {
    // One pool over every task: a row index picks the task in proportion to its examples.
    std::vector<std::pair<size_t, int64_t>> rows(B);
    for (auto& [task, row] : rows) {
      row = gen.randint(0, train_count_);
      task = 0;
      while (row >= train_[task].count) row -= train_[task++].count;
    }
    return gather(train_, rows);
  }
  // One task of 0 examples: fresh ones for every batch.
  const int64_t T = opts_.seq_len;
  std::vector<int64_t> in(B * T), tgt(B * T);
  for (int64_t b = 0; b < B; ++b) generate(opts_, gen, in.data() + b * T, tgt.data() + b * T);
  return {Tensor::from_vector(in, {B, T}), Tensor::from_vector(tgt, {B, T})};
}

int64_t MqarDataset::num_val_batches() const { return static_cast<int64_t>(val_order_.size()); }

int64_t MqarDataset::val_batch_task(int64_t i) const {
  LOGLIN_CHECK(i >= 0 && i < num_val_batches(), "[mqar] validation batch {} out of range [0, {})", i,
               num_val_batches());
  return static_cast<int64_t>(val_order_[i].first);
}

Batch MqarDataset::val_batch(int64_t i) const {
  const size_t task = static_cast<size_t>(val_batch_task(i));
  const int64_t first = val_order_[i].second * opts_.batch_size;
  std::vector<std::pair<size_t, int64_t>> rows(std::min(opts_.batch_size, val_[task].count - first));
  for (size_t k = 0; k < rows.size(); ++k) rows[k] = {task, first + static_cast<int64_t>(k)};
  return gather(val_, rows);
}

void MqarDataset::restore(const DataPosition& pos, Generator& gen) {
  LOGLIN_CHECK(pos.batches >= 0, "[mqar] data position with {} batches", pos.batches);
  gen.set_state(pos.rng);
  batches_ = pos.batches;
}

MqarScores mqar_scores(const std::vector<std::string>& names, const std::vector<Accuracy>& per_task) {
  LOGLIN_CHECK(names.size() == per_task.size(), "[mqar] {} setting names for {} accuracies", names.size(),
               per_task.size());
  MqarScores s;
  double sum = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    if (per_task[i].total == 0) continue;
    s.by_task.emplace_back(names[i], per_task[i].value());
    sum += per_task[i].value();
  }
  if (!s.by_task.empty()) s.mean = sum / static_cast<double>(s.by_task.size());
  return s;
}

Accuracy token_accuracy(const Tensor& predictions, const Tensor& targets) {
  const Shape& ts = targets.shape();
  Shape ps = predictions.shape();
  const bool logits = predictions.dim() == targets.dim() + 1;
  if (logits) ps.pop_back();
  LOGLIN_CHECK(ps == ts, "[accuracy] predictions {} do not match targets {} (or targets plus a vocab dimension)",
               shape_str(predictions.shape()), shape_str(ts));
  auto host = [](const Tensor& t) { return t.device().is_cpu() ? t : t.to(Device::cpu()); };
  const std::vector<int64_t> tgt = host(targets).to_vector<int64_t>();
  std::vector<int64_t> pred;
  if (logits) {
    const int64_t V = predictions.shape().back();
    LOGLIN_CHECK(V > 0, "[accuracy] logits have an empty last dimension");
    const std::vector<float> lg = host(predictions).to_vector<float>();
    pred.resize(tgt.size());
    for (size_t i = 0; i < tgt.size(); ++i) {
      const float* row = lg.data() + i * V;
      pred[i] = std::max_element(row, row + V) - row;
    }
  } else {
    pred = host(predictions).to_vector<int64_t>();
  }
  Accuracy acc;
  for (size_t i = 0; i < tgt.size(); ++i) {
    if (tgt[i] == kIgnoreIndex) continue;
    ++acc.total;
    acc.correct += pred[i] == tgt[i];
  }
  return acc;
}

}  // namespace loglin

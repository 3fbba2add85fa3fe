#include "train/data/mqar.h"

#include <algorithm>

namespace loglin {
namespace {

MqarOptions validated(MqarOptions o) {
  if (o.num_queries == 0) o.num_queries = o.num_pairs;
  LOGLIN_CHECK(o.num_pairs >= 1, "[mqar] num_pairs {} must be at least 1", o.num_pairs);
  LOGLIN_CHECK(o.num_queries >= 1 && o.num_queries <= o.num_pairs,
               "[mqar] num_queries {} must lie in [1, num_pairs = {}] (each query asks a distinct key)",
               o.num_queries, o.num_pairs);
  const int64_t keys = o.vocab_size / 2 - 1;  // [1, V/2)
  LOGLIN_CHECK(o.vocab_size >= 4 && keys >= o.num_pairs,
               "[mqar] vocab_size {} gives {} distinct keys, fewer than num_pairs = {}: vocab_size must be at least "
               "2 * (num_pairs + 1) = {}",
               o.vocab_size, std::max<int64_t>(keys, 0), o.num_pairs, 2 * (o.num_pairs + 1));
  const int64_t need = 2 * o.num_pairs + 2 * o.num_queries;
  LOGLIN_CHECK(o.seq_len >= need,
               "[mqar] seq_len {} is too short for {} pairs and {} queries: it needs at least 2*num_pairs + "
               "2*num_queries = {}",
               o.seq_len, o.num_pairs, o.num_queries, need);
  LOGLIN_CHECK(o.batch_size >= 1, "[mqar] batch_size {} must be at least 1", o.batch_size);
  LOGLIN_CHECK(o.train_examples >= 0, "[mqar] train_examples {} is negative", o.train_examples);
  LOGLIN_CHECK(o.val_examples >= 0, "[mqar] val_examples {} is negative", o.val_examples);
  return o;
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

MqarDataset::MqarDataset(MqarOptions opts) : opts_(validated(opts)) {
  train_ = make_examples(opts_.train_examples, opts_.seed);
  val_ = make_examples(opts_.val_examples, opts_.val_seed);
}

MqarDataset::Examples MqarDataset::make_examples(int64_t n, uint64_t seed) const {
  const int64_t T = opts_.seq_len;
  Examples ex;
  ex.count = n;
  ex.inputs.resize(n * T);
  ex.targets.resize(n * T);
  Generator gen(seed);
  std::vector<int64_t> in(T), tgt(T);
  for (int64_t i = 0; i < n; ++i) {
    generate(opts_, gen, in.data(), tgt.data());
    std::copy(in.begin(), in.end(), ex.inputs.begin() + i * T);
    std::copy(tgt.begin(), tgt.end(), ex.targets.begin() + i * T);
  }
  return ex;
}

Batch MqarDataset::gather(const Examples& ex, const std::vector<int64_t>& rows) const {
  const int64_t B = static_cast<int64_t>(rows.size()), T = opts_.seq_len;
  std::vector<int64_t> in(B * T), tgt(B * T);
  for (int64_t b = 0; b < B; ++b) {
    std::copy_n(ex.inputs.begin() + rows[b] * T, T, in.begin() + b * T);
    std::copy_n(ex.targets.begin() + rows[b] * T, T, tgt.begin() + b * T);
  }
  return {Tensor::from_vector(in, {B, T}), Tensor::from_vector(tgt, {B, T})};
}

Batch MqarDataset::next_train_batch(Generator& gen) {
  const int64_t B = opts_.batch_size, T = opts_.seq_len;
  ++batches_;
  if (train_.count > 0) {
    std::vector<int64_t> rows(B);
    for (auto& r : rows) r = gen.randint(0, train_.count);
    return gather(train_, rows);
  }
  std::vector<int64_t> in(B * T), tgt(B * T);
  for (int64_t b = 0; b < B; ++b) generate(opts_, gen, in.data() + b * T, tgt.data() + b * T);
  return {Tensor::from_vector(in, {B, T}), Tensor::from_vector(tgt, {B, T})};
}

int64_t MqarDataset::num_val_batches() const { return (val_.count + opts_.batch_size - 1) / opts_.batch_size; }

Batch MqarDataset::val_batch(int64_t i) const {
  LOGLIN_CHECK(i >= 0 && i < num_val_batches(), "[mqar] validation batch {} out of range [0, {})", i,
               num_val_batches());
  const int64_t first = i * opts_.batch_size;
  std::vector<int64_t> rows(std::min(opts_.batch_size, val_.count - first));
  for (size_t k = 0; k < rows.size(); ++k) rows[k] = first + static_cast<int64_t>(k);
  return gather(val_, rows);
}

void MqarDataset::restore(const DataPosition& pos, Generator& gen) {
  LOGLIN_CHECK(pos.batches >= 0, "[mqar] data position with {} batches", pos.batches);
  gen.set_state(pos.rng);
  batches_ = pos.batches;
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

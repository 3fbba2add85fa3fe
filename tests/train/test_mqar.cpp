// MQAR: the structure of every example, fixed validation data, resumable
// training draws, parameter checks and the accuracy metric.
#include <map>
#include <set>
#include <string>

#include "catch.h"
#include "test_util.h"
#include "train/data/mqar.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::error_message;

namespace {

std::vector<int64_t> ids(const Tensor& t) { return t.to_vector<int64_t>(); }

// Checks one example row against the task's definition.
void check_example(const MqarOptions& o, const int64_t* in, const int64_t* tg) {
  const int64_t P = o.num_pairs, T = o.seq_len, half = o.vocab_size / 2;
  std::map<int64_t, int64_t> value_of;
  for (int64_t i = 0; i < P; ++i) {
    const int64_t k = in[2 * i], v = in[2 * i + 1];
    REQUIRE(k >= 1);
    REQUIRE(k < half);  // keys: lower half, never the filler 0
    REQUIRE(v >= half);
    REQUIRE(v < o.vocab_size);  // values: upper half
    REQUIRE(value_of.emplace(k, v).second);  // distinct keys
    REQUIRE(tg[2 * i] == kIgnoreIndex);
    REQUIRE(tg[2 * i + 1] == kIgnoreIndex);
  }
  std::set<int64_t> asked;
  int64_t queries = 0;
  for (int64_t t = 2 * P; t < T; ++t) {
    if (tg[t] == kIgnoreIndex) continue;
    ++queries;
    // A query: a key seen among the pairs, whose target is that key's value,
    // which is also the next input token (when there is one).
    REQUIRE(value_of.count(in[t]) == 1);
    REQUIRE(tg[t] == value_of.at(in[t]));
    if (t + 1 < T) REQUIRE(in[t + 1] == tg[t]);
    REQUIRE(asked.insert(in[t]).second);  // distinct queries
  }
  REQUIRE(queries == o.num_queries);
  // Outside pairs and queries, the inputs are the filler 0.
  for (int64_t t = 2 * P; t < T; ++t) {
    const bool is_key = tg[t] != kIgnoreIndex;
    const bool is_value = t > 2 * P && tg[t - 1] != kIgnoreIndex;
    if (!is_key && !is_value) REQUIRE(in[t] == 0);
  }
}

void check_batch(const MqarOptions& o, const Batch& b, int64_t rows) {
  REQUIRE(b.inputs.shape() == Shape{rows, o.seq_len});
  REQUIRE(b.targets.shape() == Shape{rows, o.seq_len});
  REQUIRE(b.inputs.dtype() == DType::i64);
  const auto in = ids(b.inputs), tg = ids(b.targets);
  for (int64_t r = 0; r < rows; ++r) check_example(o, in.data() + r * o.seq_len, tg.data() + r * o.seq_len);
}

}  // namespace

TEST_CASE("mqar examples follow the task's structure", "[train][mqar]") {
  for (MqarOptions o : {MqarOptions{.num_pairs = 8, .vocab_size = 64, .seq_len = 64, .num_queries = 4},
                        MqarOptions{.num_pairs = 4, .vocab_size = 10, .seq_len = 16, .num_queries = 4},  // tight fit
                        MqarOptions{.num_pairs = 1, .vocab_size = 4, .seq_len = 4},
                        MqarOptions{.num_pairs = 16, .vocab_size = 8192, .seq_len = 97, .num_queries = 3}}) {
    o.batch_size = 5;
    o.train_examples = 50;
    o.val_examples = 7;
    INFO("pairs " << o.num_pairs << " vocab " << o.vocab_size << " seq_len " << o.seq_len);
    MqarDataset ds(o);
    Generator gen(1);
    for (int i = 0; i < 20; ++i) check_batch(ds.options(), ds.next_train_batch(gen), 5);
    REQUIRE(ds.num_val_batches() == 2);
    check_batch(ds.options(), ds.val_batch(0), 5);
    check_batch(ds.options(), ds.val_batch(1), 2);
  }
}

TEST_CASE("mqar resolves num_queries 0 to num_pairs and draws fresh examples when asked", "[train][mqar]") {
  MqarOptions o{.num_pairs = 6, .vocab_size = 32, .seq_len = 40, .num_queries = 0, .batch_size = 4};
  o.train_examples = 0;
  MqarDataset ds(o);
  CHECK(ds.options().num_queries == 6);
  Generator g1(3), g2(3);
  MqarDataset twin(o);
  for (int i = 0; i < 10; ++i) {
    Batch a = ds.next_train_batch(g1);
    check_batch(ds.options(), a, 4);
    CHECK(ids(a.inputs) == ids(twin.next_train_batch(g2).inputs));
  }
}

TEST_CASE("mqar validation is fixed by its own seed, training resumes exactly", "[train][mqar]") {
  MqarOptions o{.num_pairs = 4, .vocab_size = 32, .seq_len = 24, .batch_size = 8, .train_examples = 100,
                .val_examples = 16};
  MqarOptions other_seed = o;
  other_seed.seed = 99;
  MqarDataset a(o), b(o), c(other_seed);
  for (int64_t i = 0; i < a.num_val_batches(); ++i) {
    CHECK(ids(a.val_batch(i).inputs) == ids(b.val_batch(i).inputs));
    CHECK(ids(a.val_batch(i).inputs) == ids(c.val_batch(i).inputs));  // independent of the training seed
  }
  Generator ga(11), gc(11);
  CHECK(ids(a.next_train_batch(ga).inputs) != ids(c.next_train_batch(gc).inputs));  // another training set
  CHECK(ids(a.val_batch(0).inputs) != ids(a.next_train_batch(ga).inputs));

  const DataPosition pos = a.position(ga);
  std::vector<int64_t> expected = ids(a.next_train_batch(ga).targets);
  Generator gr(0);
  b.restore(DataPosition::from_string(pos.to_string()), gr);
  CHECK(b.batches_drawn() == 2);
  CHECK(ids(b.next_train_batch(gr).targets) == expected);
}

TEST_CASE("mqar rejects impossible settings with a clear message", "[train][mqar]") {
  const std::string msg =
      error_message([] { MqarDataset(MqarOptions{.num_pairs = 8, .seq_len = 30, .num_queries = 8}); });
  CHECK(contains(msg, "seq_len 30 is too short"));
  CHECK(contains(msg, "2*num_pairs + 2*num_queries = 32"));
  CHECK(contains(error_message([] { MqarDataset(MqarOptions{.num_pairs = 8, .vocab_size = 16}); }), "vocab_size"));
  CHECK_THROWS_AS(MqarDataset(MqarOptions{.num_pairs = 4, .num_queries = 5}), Error);
  CHECK_THROWS_AS(MqarDataset(MqarOptions{.num_pairs = 0}), Error);
  CHECK_THROWS_AS(MqarDataset(MqarOptions{.batch_size = 0}), Error);
  CHECK_THROWS_AS(MqarDataset(MqarOptions{.train_examples = -1}), Error);
}

TEST_CASE("mqar accuracy counts only query positions", "[train][mqar]") {
  MqarOptions o{.num_pairs = 8, .vocab_size = 64, .seq_len = 64, .batch_size = 16, .val_examples = 64};
  MqarDataset ds(o);
  Batch b = ds.val_batch(0);
  const auto tg = ids(b.targets);
  const int64_t n = static_cast<int64_t>(tg.size());

  // Perfect: right at every query, arbitrary elsewhere.
  std::vector<int64_t> perfect(n);
  for (int64_t i = 0; i < n; ++i) perfect[i] = tg[i] == kIgnoreIndex ? 3 : tg[i];
  Accuracy acc = MqarDataset::accuracy(Tensor::from_vector(perfect, b.targets.shape()), b.targets);
  CHECK(acc.total == 16 * 8);
  CHECK(acc.correct == acc.total);
  CHECK(acc.value() == 1.0);

  // The same through logits (argmax over the last dimension).
  std::vector<float> logits(n * 64, 0.0f);
  for (int64_t i = 0; i < n; ++i) logits[i * 64 + perfect[i]] = 1.0f;
  CHECK(token_accuracy(Tensor::from_vector(logits, {16, 64, 64}), b.targets).value() == 1.0);

  // Random guesses over the vocabulary score near 1/64.
  Generator gen(4);
  Accuracy random;
  for (int64_t i = 0; i < ds.num_val_batches(); ++i) {
    Batch v = ds.val_batch(i);
    random += token_accuracy(randint(0, 64, v.targets.shape(), DType::i64, gen), v.targets);
  }
  CHECK(random.total == 64 * 8);
  CHECK(random.value() < 0.06);

  // Never right, and nothing to count.
  CHECK(token_accuracy(Tensor::zeros(b.targets.shape(), DType::i64), b.targets).correct == 0);
  Tensor ignored = Tensor::full({2, 3}, static_cast<double>(kIgnoreIndex), DType::i64);
  CHECK(token_accuracy(Tensor::zeros({2, 3}, DType::i64), ignored).total == 0);
  CHECK(token_accuracy(Tensor::zeros({2, 3}, DType::i64), ignored).value() == 0.0);
  CHECK_THROWS_AS(token_accuracy(Tensor::zeros({2, 4}, DType::i64), ignored), Error);
}

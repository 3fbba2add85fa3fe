// Zoology-style MQAR: a mixture of training settings in one pool and a list
// of test settings scored one by one. Determinism from the seed, the
// mixture's proportions, padding that is never seen or scored, per-setting
// accuracy and its mean, the config keys (data.mqar.preset, train_mix,
// test_configs) with their errors, and the old single-setting keys unchanged.
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "autograd/grad_mode.h"
#include "catch.h"
#include "ops/ops.h"
#include "test_util.h"
#include "train/config/config.h"
#include "train/data/mqar.h"
#include "train/trainer/metrics_log.h"
#include "train/trainer/saved_run.h"
#include "train/trainer/train_data.h"
#include "train/trainer/trainer.h"

using namespace loglin;
using loglin_test::contains;
using loglin_test::error_message;
namespace fs = std::filesystem;

namespace {

std::vector<int64_t> ids(const Tensor& t) { return t.to_vector<int64_t>(); }

// Two training settings of different lengths, 3:1 in examples.
MqarOptions two_lengths() {
  MqarOptions o;
  o.vocab_size = 32;
  o.batch_size = 16;
  o.train_mix = {{16, 2, 300}, {32, 4, 100}};
  o.val_examples = 20;
  return o;
}

// The number of scored positions in row r of a [B, T] target tensor.
int64_t queries_in_row(const std::vector<int64_t>& tg, int64_t T, int64_t r) {
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) n += tg[r * T + t] != kIgnoreIndex;
  return n;
}

// Row r holds a well-formed example of `len` tokens and `pairs` pairs
// (all queried), then padding (input 0, target ignored) up to T.
void check_row(const std::vector<int64_t>& in, const std::vector<int64_t>& tg, int64_t T, int64_t r, int64_t len,
               int64_t pairs, int64_t vocab) {
  const int64_t* x = in.data() + r * T;
  const int64_t* y = tg.data() + r * T;
  std::map<int64_t, int64_t> value_of;
  for (int64_t i = 0; i < pairs; ++i) {
    REQUIRE(x[2 * i] >= 1);
    REQUIRE(x[2 * i] < vocab / 2);
    REQUIRE(x[2 * i + 1] >= vocab / 2);
    REQUIRE(value_of.emplace(x[2 * i], x[2 * i + 1]).second);
  }
  std::set<int64_t> asked;
  for (int64_t t = 0; t < len; ++t) {
    if (y[t] == kIgnoreIndex) continue;
    REQUIRE(t >= 2 * pairs);  // queries come after the pairs, and repeat an earlier key
    REQUIRE(value_of.count(x[t]) == 1);
    REQUIRE(y[t] == value_of.at(x[t]));
    REQUIRE(asked.insert(x[t]).second);
  }
  REQUIRE(static_cast<int64_t>(asked.size()) == pairs);
  for (int64_t t = len; t < T; ++t) {
    REQUIRE(x[t] == 0);
    REQUIRE(y[t] == kIgnoreIndex);
  }
}

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("loglin_mqar_mix_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

std::string parse_error(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  return error_message([&] { parse_config(yaml, "x.yaml", sets); });
}

// A config whose data.mqar section is `mqar` (lines from 7 on).
std::string with_mqar(const std::string& mqar, int max_seq_len = 256) {
  return "model:\n  arch: mamba2\n  max_seq_len: " + std::to_string(max_seq_len) +
         "\ndata:\n  dataset: mqar\n  mqar:\n" + mqar;
}

}  // namespace

TEST_CASE("mqar mixture: a one-setting mixture draws exactly the single setting's data", "[train][mqar]") {
  MqarOptions single{.num_pairs = 4, .vocab_size = 32, .seq_len = 24, .batch_size = 8, .train_examples = 100,
                     .val_examples = 20};
  MqarOptions mix = single;
  mix.train_mix = {{24, 4, 100}};
  mix.test_configs = {{24, 4, 20}};
  MqarDataset a(single), b(mix);
  REQUIRE(a.num_val_batches() == b.num_val_batches());
  for (int64_t i = 0; i < a.num_val_batches(); ++i) {
    CHECK(ids(a.val_batch(i).inputs) == ids(b.val_batch(i).inputs));
    CHECK(ids(a.val_batch(i).targets) == ids(b.val_batch(i).targets));
  }
  Generator ga(5), gb(5);
  for (int i = 0; i < 5; ++i) {
    Batch x = a.next_train_batch(ga), y = b.next_train_batch(gb);
    CHECK(x.inputs.shape() == Shape{8, 24});
    CHECK(ids(x.inputs) == ids(y.inputs));
    CHECK(ids(x.targets) == ids(y.targets));
  }
  CHECK(a.test_tasks().size() == 1);
  CHECK(a.test_tasks()[0].name() == "24x4");
  CHECK(a.options().num_queries == 4);  // still resolved for the single setting
}

TEST_CASE("mqar mixture: examples come from the seed alone", "[train][mqar]") {
  MqarOptions o = two_lengths();
  MqarDataset a(o), b(o);
  MqarOptions other = o;
  other.seed = 1;
  other.val_seed = 2;
  MqarDataset c(other);
  Generator ga(3), gb(3), gc(3);
  for (int i = 0; i < 4; ++i) {
    const Batch x = a.next_train_batch(ga), y = b.next_train_batch(gb), z = c.next_train_batch(gc);
    CHECK(ids(x.inputs) == ids(y.inputs));
    CHECK(ids(x.targets) == ids(y.targets));
    // The same rows are drawn (the row draw is the generator's), from another training set.
    CHECK(x.inputs.shape() == z.inputs.shape());
    CHECK(ids(x.inputs) != ids(z.inputs));
  }
  for (int64_t i = 0; i < a.num_val_batches(); ++i) {
    CHECK(ids(a.val_batch(i).inputs) == ids(b.val_batch(i).inputs));
    CHECK(ids(a.val_batch(i).inputs) != ids(c.val_batch(i).inputs));
  }
  // The settings have streams of their own: adding a setting leaves the first one's examples alone.
  MqarOptions first_only = o;
  first_only.train_mix = {o.train_mix[0]};
  first_only.test_configs = {{16, 2, 20}};
  MqarDataset d(first_only);
  CHECK(ids(d.val_batch(0).inputs) == ids(a.val_batch(0).inputs));

  // The same numbers on every machine: loglin's Generator (xoshiro256**, an
  // exact integer recipe) is the only source. Pinned: the first validation
  // example of the 16x2 setting, vocab 32.
  const std::vector<int64_t> val0 = ids(a.val_batch(0).inputs);
  const std::vector<int64_t> first_row(val0.begin(), val0.begin() + 16);
  const std::vector<int64_t> pinned = {8, 31, 5, 19, 5, 19, 8, 31, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK(first_row == pinned);
  const std::vector<int64_t> val1 = ids(a.val_batch(1).inputs);  // the 32x4 setting's first batch (a derived seed)
  const std::vector<int64_t> pinned_long = {9, 24, 10, 16, 12, 23, 13, 17, 0,  0,  0,  0,  9,  24, 0,  0,
                                            0, 0,  0,  0,  0,  0,  0,  0,  0,  0,  12, 23, 10, 16, 13, 17};
  CHECK(std::vector<int64_t>(val1.begin(), val1.begin() + 32) == pinned_long);
}

TEST_CASE("mqar mixture: rows are drawn in proportion to the settings' examples", "[train][mqar]") {
  MqarDataset ds(two_lengths());
  CHECK(ds.options().seq_len == 32);  // the longest
  CHECK(ds.options().num_pairs == 4);
  CHECK(ds.options().train_examples == 400);
  Generator gen(9);
  int64_t short_rows = 0, rows = 0, mixed_batches = 0;
  for (int i = 0; i < 200; ++i) {
    const Batch b = ds.next_train_batch(gen);
    const int64_t T = b.inputs.size(1);
    const auto in = ids(b.inputs), tg = ids(b.targets);
    int64_t shorts = 0;
    for (int64_t r = 0; r < 16; ++r) {
      // A row of the 16-token setting asks 2 keys, one of the 32-token setting 4.
      const int64_t q = queries_in_row(tg, T, r);
      REQUIRE((q == 2 || q == 4));
      if (q == 2) check_row(in, tg, T, r, 16, 2, 32);
      else check_row(in, tg, T, r, 32, 4, 32);
      shorts += q == 2;
    }
    // A batch is as long as its longest row.
    CHECK(T == (shorts == 16 ? 16 : 32));
    mixed_batches += shorts > 0 && shorts < 16;
    short_rows += shorts;
    rows += 16;
  }
  const double share = static_cast<double>(short_rows) / static_cast<double>(rows);
  INFO("share of 16-token rows " << share);
  CHECK(share > 0.72);  // 3/4 expected; 3200 draws put 0.75 +- 0.008 (1 sd)
  CHECK(share < 0.78);
  CHECK(mixed_batches > 100);
}

TEST_CASE("mqar mixture: padding is never seen from a real position nor scored", "[train][mqar]") {
  // A padded row of the 16-token setting next to a 32-token row, through a
  // small causal model: its logits and its loss are those of the row alone.
  MqarOptions o = two_lengths();
  o.batch_size = 2;
  MqarDataset ds(o);
  Generator gen(0);
  Batch b;
  std::vector<int64_t> tg;
  do {  // a batch holding one row of each length
    b = ds.next_train_batch(gen);
    tg = ids(b.targets);
  } while (b.inputs.size(1) != 32 || queries_in_row(tg, 32, 0) + queries_in_row(tg, 32, 1) != 6);
  const int64_t short_row = queries_in_row(tg, 32, 0) == 2 ? 0 : 1;

  ModelConfig mc;
  mc.arch = "loglinear_mamba2";
  mc.d_model = 16;
  mc.n_layers = 1;
  mc.head_dim = 8;
  mc.d_state = 8;
  mc.chunk_size = 8;
  mc.max_seq_len = 32;
  mc.mlp = false;
  Generator init(1);
  nn::LanguageModel model(lm_options(mc, 32), init);
  model.eval();
  NoGradGuard no_grad;

  const Tensor logits = model.forward(b.inputs);  // [2, 32, 32]
  auto row = [](const Tensor& t, int64_t r, int64_t len) {
    return t.slice(0, r, r + 1).slice(1, 0, len).contiguous();
  };
  const Tensor alone_in = row(b.inputs, short_row, 16), alone_tg = row(b.targets, short_row, 16);
  const Tensor alone = model.forward(alone_in);  // [1, 16, 32]
  CHECK(loglin_test::rel_err(row(logits, short_row, 16), alone) < 1e-5);

  // The batch loss is the mean over its 6 queries, the padding adding nothing.
  const Tensor long_in = row(b.inputs, 1 - short_row, 32), long_tg = row(b.targets, 1 - short_row, 32);
  const double both = cross_entropy(logits, b.targets, kIgnoreIndex).item();
  const double part_short = cross_entropy(alone, alone_tg, kIgnoreIndex).item();
  const double part_long = cross_entropy(model.forward(long_in), long_tg, kIgnoreIndex).item();
  CHECK(std::abs(both - (2 * part_short + 4 * part_long) / 6) < 1e-5 * std::abs(both));
  CHECK(token_accuracy(logits, b.targets).total == 6);
}

TEST_CASE("mqar mixture: validation takes the test settings in turn, each at its own length", "[train][mqar]") {
  MqarOptions o = two_lengths();
  o.batch_size = 8;
  o.test_configs = {{16, 2, 20}, {48, 4, 8}};  // longer than any training example: allowed
  MqarDataset ds(o);
  REQUIRE(ds.test_tasks().size() == 2);
  CHECK(ds.test_tasks()[1].name() == "48x4");
  // 16x2: 3 batches (8, 8, 4); 48x4: 1 batch. Turns: 16x2, 48x4, 16x2, 16x2.
  REQUIRE(ds.num_val_batches() == 4);
  const std::vector<int64_t> task = {0, 1, 0, 0}, rows = {8, 8, 8, 4}, len = {16, 48, 16, 16};
  for (int64_t i = 0; i < 4; ++i) {
    INFO("batch " << i);
    CHECK(ds.val_batch_task(i) == task[i]);
    const Batch b = ds.val_batch(i);
    CHECK(b.inputs.shape() == Shape{rows[i], len[i]});
    const auto in = ids(b.inputs), tg = ids(b.targets);
    for (int64_t r = 0; r < rows[i]; ++r) check_row(in, tg, len[i], r, len[i], task[i] == 0 ? 2 : 4, 32);
  }
  // Without test_configs: val_examples of each training setting.
  MqarDataset plain(two_lengths());
  REQUIRE(plain.test_tasks().size() == 2);
  CHECK(plain.test_tasks()[0].name() == "16x2");
  CHECK(plain.test_tasks()[0].examples == 20);
  CHECK(plain.test_tasks()[1].name() == "32x4");
  CHECK_THROWS_AS(ds.val_batch(4), Error);
}

TEST_CASE("mqar mixture: accuracy per test setting and their unweighted mean", "[train][mqar]") {
  // 90 of 100 queries right in one setting, 1 of 4 in another: the mean is
  // (0.9 + 0.25) / 2, not the pooled 91 / 104; an unreached setting is left out.
  MqarScores s = mqar_scores({"64x4", "256x64", "128x8"}, {Accuracy{90, 100}, Accuracy{1, 4}, Accuracy{0, 0}});
  REQUIRE(s.by_task.size() == 2);
  CHECK(s.by_task[0].first == "64x4");
  CHECK(s.by_task[0].second == 0.9);
  CHECK(s.by_task[1].first == "256x64");
  CHECK(s.by_task[1].second == 0.25);
  CHECK(std::abs(s.mean - 0.575) < 1e-12);
  CHECK(mqar_scores({"a"}, {Accuracy{0, 0}}).mean == 0.0);
  CHECK_THROWS_AS(mqar_scores({"a"}, {}), Error);

  // End to end: a 2-step run writes each setting's accuracy and the mean to
  // metrics.jsonl, and evaluating its checkpoint (what `loglin eval` does) agrees.
  const fs::path d = scratch("eval");
  std::string yaml = R"(
model: {arch: loglinear_mamba2, d_model: 16, n_layers: 1, head_dim: 8, d_state: 8, chunk_size: 8, max_seq_len: 32,
        mlp: false}
data:
  dataset: mqar
  batch_size: 8
  mqar:
    vocab_size: 32
    train_mix: [{seq_len: 16, num_pairs: 2, examples: 64}, {seq_len: 32, num_pairs: 4, examples: 32}]
    test_configs:
      - {seq_len: 16, num_pairs: 2, examples: 16}
      - {seq_len: 32, num_pairs: 4, examples: 8}
training: {steps: 2, eval_every: 0, eval_batches: 10, device: cpu}
checkpoint: {every: 0}
logging: {run_dir: RUN, progress: off}
)";
  yaml.replace(yaml.find("RUN"), 3, d.string());
  const TrainSummary sum = Trainer(parse_config(yaml, "mix")).run();
  REQUIRE(sum.final_eval.accuracy_by_task.size() == 2);
  CHECK(sum.final_eval.accuracy_by_task[0].first == "16x2");
  CHECK(sum.final_eval.accuracy_by_task[1].first == "32x4");
  const double mean = (sum.final_eval.accuracy_by_task[0].second + sum.final_eval.accuracy_by_task[1].second) / 2;
  CHECK(std::abs(sum.final_eval.accuracy - mean) < 1e-12);
  CHECK(sum.final_eval.targets == 16 * 2 + 8 * 4);

  const auto rows = read_metrics(d / "metrics.jsonl");
  const MetricsRow* eval = nullptr;
  for (const auto& r : rows)
    if (r.kind == "eval") eval = &r;
  REQUIRE(eval != nullptr);
  CHECK(std::abs(eval->get("val_accuracy", -1) - sum.final_eval.accuracy) < 1e-5);
  CHECK(std::abs(eval->get("val_accuracy/16x2", -1) - sum.final_eval.accuracy_by_task[0].second) < 1e-5);
  CHECK(std::abs(eval->get("val_accuracy/32x4", -1) - sum.final_eval.accuracy_by_task[1].second) < 1e-5);

  SavedRun run = open_saved_run(d.string());
  TrainData data(run.config.data, [](const std::string&) {});
  CHECK(data.accuracy_groups() == std::vector<std::string>{"16x2", "32x4"});
  CHECK(data.longest_seq_len() == 32);
  const EvalResult again = evaluate(*run.model, data, 0);
  CHECK(again.accuracy == sum.final_eval.accuracy);
  CHECK(again.accuracy_by_task == sum.final_eval.accuracy_by_task);
  // One batch reaches only the first setting: the mean is its accuracy.
  const EvalResult first = evaluate(*run.model, data, 1);
  REQUIRE(first.accuracy_by_task.size() == 1);
  CHECK(first.accuracy == first.accuracy_by_task[0].second);
  fs::remove_all(d);
}

TEST_CASE("mqar mixture: the dataset rejects impossible settings", "[train][mqar]") {
  auto bad = [](std::vector<MqarTask> train, std::vector<MqarTask> test = {}) {
    MqarOptions o = two_lengths();
    o.train_mix = std::move(train);
    o.test_configs = std::move(test);
    return error_message([&] { MqarDataset ds(o); });
  };
  CHECK(contains(bad({{16, 2, 10}, {20, 8, 10}}), "train_mix[1] (20x8): seq_len 20 is too short for 8 pairs"));
  CHECK(contains(bad({{16, 2, 10}, {32, 4, 0}}), "train_mix[1] (32x4): examples 0 must be at least 1"));
  CHECK(contains(bad({{16, 2, 10}, {16, 2, 5}}), "train_mix[1] (16x2): repeats train_mix[0]"));
  CHECK(contains(bad({{16, 2, 10}}, {{64, 20, 5}}), "test_configs[0] (64x20): vocab_size 32 gives 15 distinct keys"));
  CHECK(contains(bad({{16, 2, 10}}, {{16, 2, 5}, {16, 2, 5}}), "test_configs[1] (16x2): repeats test_configs[0]"));
}

TEST_CASE("mqar config: preset, train_mix and test_configs", "[train][mqar][config]") {
  // The old keys alone: no mixture, exactly as before.
  TrainConfig old = parse_config(with_mqar("    num_pairs: 4\n    seq_len: 32\n"), "x.yaml");
  CHECK(old.data.mqar.preset == "none");
  CHECK(old.data.mqar.train_mix.empty());
  CHECK(old.data.mqar.test_configs.empty());
  CHECK(old.data.mqar.seq_len == 32);
  CHECK(old.data.mqar.vocab_size == 64);

  // The Zoology preset: vocab 8192 and its five settings; the single-setting
  // keys summarise the mixture.
  TrainConfig z = parse_config(with_mqar("    preset: zoology\n"), "x.yaml");
  const std::vector<MqarTaskConfig> zoology = {
      {64, 4, 100000}, {128, 8, 20000}, {256, 16, 20000}, {256, 32, 20000}, {256, 64, 20000}};
  CHECK(z.data.mqar.train_mix == zoology);
  CHECK(z.data.mqar.test_configs.empty());  // 1,000 (val_examples) of each
  CHECK(z.data.mqar.val_examples == 1000);
  CHECK(z.data.mqar.vocab_size == 8192);
  CHECK(z.data.mqar.seq_len == 256);
  CHECK(z.data.mqar.num_pairs == 64);
  CHECK(z.data.mqar.train_examples == 180000);
  // A vocabulary given with the preset stays.
  CHECK(parse_config(with_mqar("    preset: zoology\n    vocab_size: 4096\n"), "x.yaml").data.mqar.vocab_size == 4096);
  // The model must hold the longest setting.
  CHECK(contains(parse_error(with_mqar("    preset: zoology\n", 128)),
                 "x.yaml:7: data.mqar.train_mix[2] has seq_len 256, longer than model.max_seq_len (128)"));

  // Lists in block or flow style; the entries' order is kept.
  TrainConfig m = parse_config(with_mqar("    train_mix:\n"
                                         "      - {seq_len: 64, num_pairs: 4, examples: 100}\n"
                                         "      - seq_len: 128\n"
                                         "        num_pairs: 8\n"
                                         "        examples: 1_000\n"
                                         "    test_configs: [{seq_len: 256, num_pairs: 16, examples: 10}]\n"),
                               "x.yaml");
  CHECK(m.data.mqar.train_mix == std::vector<MqarTaskConfig>{{64, 4, 100}, {128, 8, 1000}});
  CHECK(m.data.mqar.test_configs == std::vector<MqarTaskConfig>{{256, 16, 10}});
  CHECK(m.data.mqar.seq_len == 128);
  CHECK(m.data.mqar.train_examples == 1100);
  CHECK(m.data.mqar.preset == "none");

  // to_yaml writes the lists one entry a line and reads back the same config;
  // the empty lists read back empty.
  for (const TrainConfig& c : {m, z, old}) {
    const std::string yaml = to_yaml(c);
    CHECK(parse_config(yaml, "resolved.yaml") == c);
    CHECK(to_yaml(parse_config(yaml, "resolved.yaml")) == yaml);
  }
  CHECK(contains(to_yaml(m), "    train_mix:"));
  CHECK(contains(to_yaml(m), "\n      - {seq_len: 128, num_pairs: 8, examples: 1000}\n"));

  // --set takes a list in YAML flow style; an empty value is the default again.
  TrainConfig s = parse_config(with_mqar("    preset: zoology\n"), "x.yaml",
                               {"data.mqar.test_configs=[{seq_len: 256, num_pairs: 64, examples: 50}]"});
  CHECK(s.data.mqar.test_configs == std::vector<MqarTaskConfig>{{256, 64, 50}});
  CHECK(parse_config(to_yaml(m), "r.yaml", {"data.mqar.test_configs="}).data.mqar.test_configs.empty());

  // The reference table lists the keys.
  const std::string md = config_reference_markdown();
  CHECK(contains(md, "| `data.mqar.preset` | choice | `none` | none \\| zoology |"));
  CHECK(contains(md, "| `data.mqar.train_mix` | list | (none) | entries {seq_len >= 2, num_pairs >= 1, examples >= "
                     "1} |"));
  CHECK(contains(md, "| `data.mqar.test_configs` | list | (none) |"));
}

TEST_CASE("mqar config: bad entries are named with their key path and line", "[train][mqar][config]") {
  const std::string two = "    train_mix:\n      - {seq_len: 64, num_pairs: 4, examples: 100}\n";  // lines 7, 8
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 20, num_pairs: 8, examples: 10}\n")),
                 "x.yaml:9: data.mqar.train_mix[1] has seq_len 20, too short for its 8 pairs and 8 queries (it needs "
                 "2 * (8 + 8) = 32)"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 64, num_pairs: 4, examples: 0}\n")),
                 "x.yaml:9: 'data.mqar.train_mix[1].examples' must be >= 1, got 0"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 64, num_pair: 4, examples: 1}\n")),
                 "x.yaml:9: unknown key 'data.mqar.train_mix[1].num_pair' (did you mean "
                 "'data.mqar.train_mix[1].num_pairs'?)"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 64, colour: red, num_pairs: 4, examples: 1}\n")),
                 "unknown key 'data.mqar.train_mix[1].colour' (an entry takes seq_len, num_pairs and examples)"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 128, num_pairs: 4}\n")),
                 "x.yaml:9: 'data.mqar.train_mix[1]' lacks 'examples'"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 64, num_pairs: 4, examples: 5}\n")),
                 "x.yaml:9: data.mqar.train_mix[1] repeats seq_len 64 with num_pairs 4 of data.mqar.train_mix[0]"));
  CHECK(contains(parse_error(with_mqar(two + "      - 64\n")),
                 "x.yaml:9: 'data.mqar.train_mix[1]' expects a map such as {seq_len: 64, num_pairs: 4, examples: "
                 "1000}, got a scalar"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 64x, num_pairs: 4, examples: 5}\n")),
                 "x.yaml:9: 'data.mqar.train_mix[1].seq_len' expects an integer, got '64x'"));
  CHECK(contains(parse_error(with_mqar(two + "      - {seq_len: 512, num_pairs: 4, examples: 5}\n")),
                 "x.yaml:9: data.mqar.train_mix[1] has seq_len 512, longer than model.max_seq_len (256)"));
  CHECK(contains(parse_error(with_mqar("    train_mix: []\n")),
                 "x.yaml:7: 'data.mqar.train_mix' is an empty list; give at least one entry"));
  CHECK(contains(parse_error(with_mqar("    test_configs: 3\n")),
                 "x.yaml:7: 'data.mqar.test_configs' expects a list of {seq_len, num_pairs, examples} entries, got a "
                 "scalar"));
  CHECK(contains(parse_error(with_mqar("    num_queries: 6\n" + two)),
                 "x.yaml:9: data.mqar.num_queries (6) exceeds the 4 pairs of data.mqar.train_mix[0]"));
  CHECK(contains(parse_error(with_mqar("    test_configs:\n      - {seq_len: 256, num_pairs: 40, examples: 5}\n")),
                 "x.yaml:8: data.mqar.test_configs[0] has 40 pairs, but data.mqar.vocab_size 64 gives only 31 "
                 "distinct keys"));
  // The single-setting keys are set from a mixture: another value is a mistake.
  CHECK(contains(parse_error(with_mqar("    seq_len: 32\n" + two)),
                 "x.yaml:7: data.mqar.seq_len (32) disagrees with data.mqar.train_mix, whose longest seq_len is 64"));
  CHECK(contains(parse_error(with_mqar("    preset: zoology\n"), {"data.mqar.num_pairs=8"}),
                 "--set data.mqar.num_pairs=8: data.mqar.num_pairs (8) disagrees with data.mqar.train_mix, whose "
                 "largest num_pairs is 64"));
  CHECK(contains(parse_error(with_mqar("    preset: zoolgy\n")),
                 "x.yaml:7: 'data.mqar.preset' must be one of none | zoology, got 'zoolgy' (did you mean 'zoology'?)"));
  CHECK(contains(parse_error(with_mqar(two), {"data.mqar.train_mix=[{seq_len: 64"}), "is not valid YAML"));
  // An overriding list's entries are named by the override, not by the file's lines.
  CHECK(contains(parse_error(with_mqar(two), {"data.mqar.train_mix=[{seq_len: 16, num_pairs: 8, examples: 1}]"}),
                 "--set data.mqar.train_mix=[{seq_len: 16, num_pairs: 8, examples: 1}]: data.mqar.train_mix[0] has "
                 "seq_len 16, too short"));
}

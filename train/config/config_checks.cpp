// Checks that involve more than one key. Each error names the keys and where
// the deciding one was given (its line, its --set, or just the file when it
// kept its default).
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "train/config/config_schema.h"

namespace loglin::config_detail {
namespace {

struct Checker {
  const Origins& origins;
  const std::string& source;

  bool given(const std::string& path) const { return origins.count(path) > 0; }
  // The first of the paths that was given explicitly, else the file.
  std::string where(std::initializer_list<const char*> paths) const {
    for (const char* p : paths)
      if (given(p)) return origins.at(p);
    return source;
  }
};

bool is_mamba(const ModelConfig& m) { return m.arch == "mamba2" || m.arch == "loglinear_mamba2"; }

// The training mixture of the Zoology MQAR setup (Arora et al., 2023).
std::vector<MqarTaskConfig> zoology_train_mix() {
  return {{64, 4, 100000}, {128, 8, 20000}, {256, 16, 20000}, {256, 32, 20000}, {256, 64, 20000}};
}

// data.mqar.preset, train_mix and test_configs: fills in the preset, sets
// seq_len / num_pairs / train_examples from a mixture, and checks every entry.
void check_mqar(TrainConfig& c, const Checker& k) {
  auto& q = c.data.mqar;
  const auto& m = c.model;
  if (q.preset == "zoology") {
    if (!k.given("data.mqar.vocab_size")) q.vocab_size = 8192;
    if (q.train_mix.empty()) q.train_mix = zoology_train_mix();
  }
  // Where entry i of a list was given: its line, else the list's (--set) or the preset's.
  auto entry_where = [&](const std::string& list, size_t i) {
    const std::string entry = fmt::format("{}[{}]", list, i);
    if (k.given(entry)) return k.origins.at(entry);
    return k.where({list == "data.mqar.train_mix" ? "data.mqar.train_mix" : "data.mqar.test_configs",
                    "data.mqar.preset"});
  };
  auto check_list = [&](const std::string& list, const std::vector<MqarTaskConfig>& tasks) {
    for (size_t i = 0; i < tasks.size(); ++i) {
      const MqarTaskConfig& t = tasks[i];
      const std::string entry = fmt::format("{}[{}]", list, i), where = entry_where(list, i);
      const int queries = q.num_queries == 0 ? t.num_pairs : q.num_queries;
      LOGLIN_CHECK(q.num_queries <= t.num_pairs,
                   "[config] {}: data.mqar.num_queries ({}) exceeds the {} pairs of {}; use 0 (as many queries as "
                   "pairs) or at most {}",
                   where, q.num_queries, t.num_pairs, entry, t.num_pairs);
      LOGLIN_CHECK(int64_t(t.seq_len) >= 2 * (int64_t(t.num_pairs) + queries),
                   "[config] {}: {} has seq_len {}, too short for its {} pairs and {} queries (it needs 2 * ({} + {}) "
                   "= {})",
                   where, entry, t.seq_len, t.num_pairs, queries, t.num_pairs, queries,
                   2 * (int64_t(t.num_pairs) + queries));
      LOGLIN_CHECK(q.vocab_size / 2 - 1 >= t.num_pairs,
                   "[config] {}: {} has {} pairs, but data.mqar.vocab_size {} gives only {} distinct keys; raise "
                   "vocab_size to at least {}",
                   where, entry, t.num_pairs, q.vocab_size, std::max(q.vocab_size / 2 - 1, 0),
                   2 * (int64_t(t.num_pairs) + 1));
      LOGLIN_CHECK(t.seq_len <= m.max_seq_len,
                   "[config] {}: {} has seq_len {}, longer than model.max_seq_len ({}); raise max_seq_len to at least "
                   "{}",
                   where, entry, t.seq_len, m.max_seq_len, t.seq_len);
      for (size_t j = 0; j < i; ++j)
        LOGLIN_CHECK(tasks[j].seq_len != t.seq_len || tasks[j].num_pairs != t.num_pairs,
                     "[config] {}: {} repeats seq_len {} with num_pairs {} of {}[{}]; list each setting once (with "
                     "more examples)",
                     where, entry, t.seq_len, t.num_pairs, list, j);
    }
  };

  if (q.train_mix.empty()) {
    const int queries = q.num_queries == 0 ? q.num_pairs : q.num_queries;
    LOGLIN_CHECK(q.num_queries <= q.num_pairs,
                 "[config] {}: data.mqar.num_queries ({}) must not exceed data.mqar.num_pairs ({})",
                 k.where({"data.mqar.num_queries", "data.mqar.num_pairs"}), q.num_queries, q.num_pairs);
    LOGLIN_CHECK(q.vocab_size >= 2 * q.num_pairs,
                 "[config] {}: data.mqar.vocab_size ({}) must be at least 2 * num_pairs ({}): keys and values come "
                 "from separate halves",
                 k.where({"data.mqar.vocab_size", "data.mqar.num_pairs"}), q.vocab_size, 2 * q.num_pairs);
    LOGLIN_CHECK(q.seq_len >= 2 * (q.num_pairs + queries),
                 "[config] {}: data.mqar.seq_len ({}) must hold the pairs and the queries (2 * ({} + {}) = {})",
                 k.where({"data.mqar.seq_len", "data.mqar.num_pairs", "data.mqar.num_queries"}), q.seq_len, q.num_pairs,
                 queries, 2 * (q.num_pairs + queries));
    LOGLIN_CHECK(q.seq_len <= m.max_seq_len, "[config] {}: data.mqar.seq_len ({}) exceeds model.max_seq_len ({})",
                 k.where({"data.mqar.seq_len", "model.max_seq_len"}), q.seq_len, m.max_seq_len);
  } else {
    check_list("data.mqar.train_mix", q.train_mix);
    // The single-setting keys become the mixture's summary; a different value given with it is a mistake.
    int64_t longest = 0, most = 0, total = 0;
    for (const auto& t : q.train_mix) {
      longest = std::max<int64_t>(longest, t.seq_len);
      most = std::max<int64_t>(most, t.num_pairs);
      total += t.examples;
    }
    LOGLIN_CHECK(total <= std::numeric_limits<int>::max(),
                 "[config] {}: data.mqar.train_mix holds {} examples in all, more than {}",
                 k.where({"data.mqar.train_mix", "data.mqar.preset"}), total, std::numeric_limits<int>::max());
    auto derive = [&](const char* path, int& field, int64_t value, const char* what) {
      LOGLIN_CHECK(!k.given(path) || field == value,
                   "[config] {}: {} ({}) disagrees with data.mqar.train_mix, whose {} is {}; leave {} out: with a "
                   "mixture it is set from the mixture",
                   k.origins.count(path) ? k.origins.at(path) : k.source, path, field, what, value, path);
      field = int(value);
    };
    derive("data.mqar.seq_len", q.seq_len, longest, "longest seq_len");
    derive("data.mqar.num_pairs", q.num_pairs, most, "largest num_pairs");
    derive("data.mqar.train_examples", q.train_examples, total, "total of examples");
  }
  check_list("data.mqar.test_configs", q.test_configs);
  LOGLIN_CHECK(m.vocab_size == 0 || m.vocab_size >= q.vocab_size,
               "[config] {}: model.vocab_size ({}) is smaller than data.mqar.vocab_size ({}); use 0 to take it "
               "from the dataset",
               k.where({"model.vocab_size", "data.mqar.vocab_size"}), m.vocab_size, q.vocab_size);
}

}  // namespace

void check_config(TrainConfig& c, const Origins& origins, const std::string& source) {
  Checker k{origins, source};
  auto& t = c.training;

  // A token budget given on its own replaces the default step count.
  if (k.given("training.max_tokens") && t.max_tokens > 0 && !k.given("training.steps")) t.steps = 0;
  LOGLIN_CHECK(t.steps > 0 || t.max_tokens > 0,
               "[config] {}: training.steps and training.max_tokens are both 0; set one of them",
               k.where({"training.steps", "training.max_tokens"}));
  LOGLIN_CHECK(t.steps == 0 || t.max_tokens == 0,
               "[config] {}: training.steps ({}) and training.max_tokens ({}) are both set; set steps: 0 to train by "
               "tokens, or max_tokens: 0 to train by steps",
               k.where({"training.max_tokens", "training.steps"}), t.steps, t.max_tokens);

  const auto& m = c.model;
  if (m.arch == "transformer") {
    LOGLIN_CHECK(m.d_model % m.n_heads == 0, "[config] {}: model.n_heads ({}) must divide model.d_model ({})",
                 k.where({"model.n_heads", "model.d_model"}), m.n_heads, m.d_model);
  }
  if (is_mamba(m)) {
    const int64_t inner = int64_t(m.d_model) * m.expand;
    LOGLIN_CHECK(inner % m.head_dim == 0,
                 "[config] {}: model.head_dim ({}) must divide model.d_model * model.expand ({} * {} = {})",
                 k.where({"model.head_dim", "model.d_model", "model.expand"}), m.head_dim, m.d_model, m.expand, inner);
    const int64_t heads = inner / m.head_dim;
    LOGLIN_CHECK(heads % m.n_groups == 0, "[config] {}: model.n_groups ({}) must divide the head count ({} = {} / {})",
                 k.where({"model.n_groups", "model.head_dim"}), m.n_groups, heads, inner, m.head_dim);
  }

  const auto& d = c.data;
  LOGLIN_CHECK(d.tokenizer != "bpe" || !d.tokenizer_path.empty(),
               "[config] {}: data.tokenizer is bpe but data.tokenizer_path is empty (make one with `loglin tokenizer "
               "train`)",
               k.where({"data.tokenizer", "data.tokenizer_path"}));
  LOGLIN_CHECK(d.dataset != "text" || !d.path.empty(),
               "[config] {}: data.dataset is text but data.path is empty (give a file or a directory)",
               k.where({"data.dataset", "data.path"}));
  // Packing lays text documents into rows; MQAR examples are already one per row.
  LOGLIN_CHECK(!(d.pack && d.dataset == "mqar"),
               "[config] {}: data.pack packs the documents of a text corpus (data.dataset brown or text), but "
               "data.dataset is mqar, whose examples already fill one row each; remove data.pack",
               k.where({"data.pack", "data.dataset"}));
  // (files is the default, which every written config.yaml names: only another choice asks for packing.)
  LOGLIN_CHECK(d.pack || d.documents == "files",
               "[config] {}: data.documents says where documents end, which only packing uses; set data.pack: true "
               "(or remove data.documents)",
               k.where({"data.documents"}));
  if (d.dataset == "mqar") {
    check_mqar(c, k);
  } else {
    LOGLIN_CHECK(d.seq_len <= m.max_seq_len, "[config] {}: data.seq_len ({}) exceeds model.max_seq_len ({})",
                 k.where({"data.seq_len", "model.max_seq_len"}), d.seq_len, m.max_seq_len);
    LOGLIN_CHECK(d.tokenizer != "byte" || m.vocab_size == 0 || m.vocab_size >= 256,
                 "[config] {}: model.vocab_size ({}) is smaller than the byte tokenizer's 256; use 0 to take it "
                 "from the tokenizer",
                 k.where({"model.vocab_size"}), m.vocab_size);
  }

  // Position buckets split the longest sequence; more buckets than positions would leave some empty.
  const int64_t context = d.dataset == "mqar" ? d.mqar.seq_len : d.seq_len;
  LOGLIN_CHECK(t.eval_position_buckets <= context,
               "[config] {}: training.eval_position_buckets ({}) exceeds the {} positions of a sequence ({}); use at "
               "most {}",
               k.where({"training.eval_position_buckets", d.dataset == "mqar" ? "data.mqar.seq_len" : "data.seq_len"}),
               t.eval_position_buckets, context, d.dataset == "mqar" ? "data.mqar.seq_len" : "data.seq_len", context);

  LOGLIN_CHECK(!(t.precision != "f32" && t.device == "cpu"),
               "[config] {}: training.precision {} needs a CUDA device, but training.device is cpu",
               k.where({"training.precision", "training.device"}), t.precision);
}

}  // namespace loglin::config_detail

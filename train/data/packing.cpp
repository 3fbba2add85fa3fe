#include "train/data/packing.h"

#include <algorithm>

#include "core/error.h"

namespace loglin {

DocumentPacker::DocumentPacker(std::shared_ptr<const std::vector<int32_t>> tokens, const std::vector<Span>& documents,
                               int64_t lo, int64_t hi, int64_t seq_len)
    : tokens_(std::move(tokens)), seq_len_(seq_len) {
  LOGLIN_CHECK(tokens_ && seq_len >= 1, "[data] packing needs tokens and seq_len >= 1, got seq_len {}", seq_len);
  for (const Span& d : documents) {
    const int64_t a = std::max(d.begin, lo), e = std::min(d.end, hi);
    const int64_t pairs = e - a - 1;
    if (pairs < 1) continue;
    ++documents_;
    for (int64_t k = 0; k < pairs; k += seq_len) {
      pieces_.push_back({a + k, std::min(seq_len, pairs - k)});
      prefix_.push_back(prefix_.back() + pieces_.back().pairs);
    }
  }
}

void DocumentPacker::fill_row(int64_t start, int64_t* inputs, int64_t* targets, std::vector<int64_t>& segments) const {
  LOGLIN_CHECK(!pieces_.empty(), "[data] no document to pack: every one has fewer than two tokens");
  const int64_t total = total_pairs();
  start %= total;
  // The piece holding pair `start`, and how far into it the row begins.
  int64_t i = std::upper_bound(prefix_.begin(), prefix_.end(), start) - prefix_.begin() - 1;
  int64_t within = start - prefix_[i];
  const int32_t* tok = tokens_->data();
  for (int64_t filled = 0; filled < seq_len_;) {
    const Piece& p = pieces_[i];
    const int64_t take = std::min(p.pairs - within, seq_len_ - filled);
    for (int64_t t = 0; t < take; ++t) {
      inputs[filled + t] = tok[p.first + within + t];
      targets[filled + t] = tok[p.first + within + t + 1];
    }
    segments.push_back(take);
    filled += take;
    i = (i + 1) % num_pieces();
    within = 0;
  }
}

}  // namespace loglin

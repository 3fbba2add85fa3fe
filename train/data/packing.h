// Packing documents into rows (data.pack): the rows of a packed batch hold
// whole documents back to back, each its own segment, and the batch carries
// where each segment starts (Batch::cu_seqlens) so every mixer can restart
// there.
//
// A document of n tokens gives n - 1 (input, target) pairs: inputs are its
// tokens 0 .. n-2 and targets 1 .. n-1, exactly what it gives run on its own
// (its first token is never a target, and no target is another document's
// token). A document with more than seq_len pairs is cut into pieces of
// seq_len pairs (the last one shorter); each piece is a document of its own,
// and consecutive pieces share one token, so every target of the document is
// trained. A one-token document has no pairs and is left out.
//
// The tail of a row: when the next piece does not fit, the row is filled
// with its first pairs (as a segment of its own) rather than padded, so no
// position of a batch is wasted and every position has a target. The part
// that did not fit is not carried over to the next row: training rows start
// at a random piece, validation rows continue the stream where the last one
// stopped (its rest is a new segment there).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "train/data/documents.h"

namespace loglin {

class DocumentPacker {
 public:
  // The documents' token spans clipped to tokens [lo, hi) (a train or
  // validation split), cut into pieces of at most seq_len pairs.
  DocumentPacker(std::shared_ptr<const std::vector<int32_t>> tokens, const std::vector<Span>& documents, int64_t lo,
                 int64_t hi, int64_t seq_len);

  int64_t num_documents() const { return documents_; }  // with at least one pair in the split
  int64_t num_pieces() const { return static_cast<int64_t>(pieces_.size()); }
  int64_t total_pairs() const { return prefix_.back(); }
  // Where piece i starts in the stream of pairs (the pieces back to back).
  int64_t piece_start(int64_t i) const { return prefix_[i]; }

  // One row of seq_len positions: the pairs [start, start + seq_len) of the
  // stream, wrapping around at its end. Writes the inputs and targets and
  // appends the length of each segment (a piece, or the part of one in the
  // row) to `segments`; they add up to seq_len.
  void fill_row(int64_t start, int64_t* inputs, int64_t* targets, std::vector<int64_t>& segments) const;

 private:
  struct Piece {
    int64_t first = 0;  // its first input token; targets start one later
    int64_t pairs = 0;
  };
  std::shared_ptr<const std::vector<int32_t>> tokens_;
  int64_t seq_len_ = 0, documents_ = 0;
  std::vector<Piece> pieces_;
  std::vector<int64_t> prefix_{0};  // prefix_[i]: the pairs of the pieces before i
};

}  // namespace loglin

#include "train/data/batch.h"

#include "train/checkpoint/checkpoint.h"

namespace loglin {

std::string DataPosition::to_string() const { return fmt::format("{} | {}", batches, rng_state_to_string(rng)); }

DataPosition DataPosition::from_string(const std::string& text) {
  const size_t bar = text.find(" | ");
  DataPosition p;
  size_t used = 0;
  bool ok = bar != std::string::npos;
  if (ok) {
    try {
      p.batches = std::stoll(text.substr(0, bar), &used);
    } catch (const std::exception&) {
      ok = false;
    }
  }
  LOGLIN_CHECK(ok && used == bar && p.batches >= 0,
               "[data] '{}' is not a data position (expected \"<batches> | <generator state>\")", text);
  p.rng = rng_state_from_string(text.substr(bar + 3));
  return p;
}

}  // namespace loglin
